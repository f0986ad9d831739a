"""A builder that suggests: a source offered for each unmapped kick-off field and accepted
in one click, recent answers beside a chosen source, how often it came empty, unknown
placeholders refused, blank constants not called "Fits", options matched at once. Against
the sandbox vendors over HTTP."""

import pytest
from django.urls import reverse

from integrations.engine import label_similarity, suggest_source
from integrations.models import Mapping, MappingVersion
from integrations.tally.answers import Answer, ChoiceOption
from integrations.tallyfy.shapes import KickoffField, Option

from .helpers import builder_post, field_id
from .test_learned_fields import submit_in_tally

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "field:question_Ky5vXe"


def builder(staff_client, mapping):
    return staff_client.get(reverse("dashboard:mapping_edit", args=[mapping.pk])).content.decode()


def redraw(staff_client, mapping, seed, alias, **data):
    fid = field_id(seed, alias)
    url = reverse("dashboard:mapping_edit_row", args=[mapping.pk, fid])
    return staff_client.post(url, data, HTTP_HX_REQUEST="true").content.decode()


# --- the pure suggestion ------------------------------------------------------------------


def kickoff(label, field_type, options=()):
    return KickoffField(
        id="f" * 32,
        alias=None,
        label=label,
        field_type=field_type,
        required=False,
        position=0,
        options=[Option(id=i, text=t) for i, t in enumerate(options)],
    )


def question(key, label, type_, options=()):
    return Answer(key, label, type_, None, options=tuple(ChoiceOption(o, o) for o in options))


FORM = [
    question("q_email", "Your email", "INPUT_EMAIL"),
    question("q_cat", "Category", "MULTIPLE_CHOICE", ["Billing", "Bug"]),
    question("q_desc", "Describe the problem", "TEXTAREA"),
    question("q_name", "Full name", "INPUT_TEXT"),
    question("q_level", "How bad is it?", "MULTIPLE_CHOICE", ["Low", "Normal", "Urgent"]),
]


def test_a_field_is_suggested_the_input_whose_label_and_type_fit():
    assert label_similarity("Description", "Describe the problem") >= 0.5
    assert label_similarity("Subject", "Category") < 0.5
    assert suggest_source(kickoff("Requester email", "email"), FORM).source.key == "q_email"
    assert suggest_source(kickoff("Description", "textarea"), FORM).source.key == "q_desc"
    assert suggest_source(kickoff("Name", "text"), FORM).source.key == "q_name"
    # Options that match say more than a label that does not.
    priority = kickoff("Priority", "radio", ["Low", "Normal", "Urgent"])
    assert suggest_source(priority, FORM).source.key == "q_level"


def test_no_suggestion_is_a_guess_or_an_input_already_used():
    assert suggest_source(kickoff("Subject", "text"), FORM) is None
    assert suggest_source(kickoff("Requester email", "email"), FORM, taken={"q_email"}) is None
    two = [question("a", "Work email", "INPUT_EMAIL"), question("b", "Home email", "INPUT_EMAIL")]
    assert suggest_source(kickoff("Email", "email"), two) is None  # a coin toss


# --- in the builder -----------------------------------------------------------------------


def test_a_suggestion_is_shown_accepted_in_one_click_and_never_saved_unasked(
    staff_client, support_mapping, vendors
):
    _, _, seed = vendors
    fid = field_id(seed, "requester_email")
    html = builder(staff_client, support_mapping)
    accept = f'name="accept" value="{fid}={EMAIL}"'
    assert accept in html
    email_row = html[html.index(f'id="row-{fid}"') :].split("</tr>")[0]
    assert "suggested</span> Your email" in email_row
    assert f'<option value="{EMAIL}" selected' not in email_row  # not chosen for them

    row = redraw(staff_client, support_mapping, seed, "requester_email", accept=f"{fid}={EMAIL}")
    assert f'<option value="{EMAIL}" selected>' in row
    assert "Fits" in row and "suggested" not in row
    assert not MappingVersion.objects.exists()  # accepting saves nothing

    # Saved as left empty, the field has a rule: no suggestion comes back.
    staff_client.post(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]),
        builder_post(seed, requester_email=EMAIL),
    )
    assert accept not in builder(staff_client, support_mapping)


def test_accept_without_javascript_redraws_the_builder_with_it_chosen(
    staff_client, support_mapping, vendors
):
    _, _, seed = vendors
    fid = field_id(seed, "requester_email")
    data = builder_post(seed) | {"accept": f"{fid}={EMAIL}"}
    response = staff_client.post(reverse("dashboard:mapping_edit", args=[support_mapping.pk]), data)
    assert response.status_code == 200
    assert f'<option value="{EMAIL}" selected>' in response.content.decode()
    assert not MappingVersion.objects.exists()


def test_recent_answers_and_how_often_a_required_fields_source_came_empty(
    staff_client, support_mapping, vendors, live_kickoff
):
    _, _, seed = vendors
    staff_client.post(reverse("dashboard:mapping_listen", args=[support_mapping.pk]))
    submit_in_tally(live_kickoff, {"Ky5vXe": "ada@example.com", "Nb8yAh": "Export fails"})
    submit_in_tally(live_kickoff, {"Nb8yAh": "Login loops"})
    submit_in_tally(live_kickoff, {"Nb8yAh": "Slow page"})

    fid = field_id(seed, "requester_email")
    row = redraw(
        staff_client, support_mapping, seed, "requester_email", **{f"f-{fid}-source": EMAIL}
    )
    assert "Recent answers: “ada@example.com”" in row
    assert "2 of the last 3 submissions left it empty." in row
    assert "bx-fallback-hot" in row and "If empty, use…" in row

    # The fallback is saved and used.
    data = builder_post(seed, requester_email=EMAIL) | {f"f-{fid}-default": "help@acme.example"}
    staff_client.post(reverse("dashboard:mapping_edit", args=[support_mapping.pk]), data)
    saved = Mapping.objects.get().current_version.fields.get(target_field_id=fid)
    assert saved.default == "help@acme.example"

    desc = field_id(seed, "description")
    row = redraw(
        staff_client,
        support_mapping,
        seed,
        "description",
        **{f"f-{desc}-source": "field:question_Nb8yAh"},
    )
    assert "“Slow page” · “Login loops” · “Export fails”" in row
    assert "left it empty" not in row


def test_an_unknown_placeholder_is_flagged_as_typed_and_refused_on_save(
    staff_client, support_mapping, vendors
):
    _, _, seed = vendors
    builder(staff_client, support_mapping)  # the builder keeps the form it read
    check = reverse("dashboard:mapping_check_placeholders", args=[support_mapping.pk])
    note = staff_client.post(
        check + "?input=name_template",
        {"name_template": "Ticket {Compnay}"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "{Compnay} matches no Tally field" in note
    note = staff_client.post(
        check + "?input=name_template",
        {"name_template": "Ticket {Your email} {followup_link}"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Unknown placeholder" not in note

    data = builder_post(seed, requester_email=EMAIL) | {"name_template": "Ticket {Compnay}"}
    response = staff_client.post(reverse("dashboard:mapping_edit", args=[support_mapping.pk]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved" in html
    assert "{Compnay} matches no Tally field" in html
    assert not MappingVersion.objects.exists()


def test_an_empty_constant_says_nothing_is_sent_instead_of_fits(
    staff_client, support_mapping, vendors
):
    _, _, seed = vendors
    fid = field_id(seed, "subject")
    row = redraw(staff_client, support_mapping, seed, "subject", **{f"f-{fid}-source": "constant"})
    assert "Empty — nothing is sent" in row and "Fits" not in row
    row = redraw(
        staff_client,
        support_mapping,
        seed,
        "subject",
        **{f"f-{fid}-source": "constant", f"f-{fid}-constant": "Website ticket"},
    )
    assert "Fits" in row and "nothing is sent" not in row


def test_options_are_matched_right_after_a_source_is_picked(staff_client, vendors):
    """The row redrawn for a newly picked question pairs its options at once (no "no
    match" until saved and reloaded)."""
    tally, tallyfy, seed = vendors
    staff_client.post(
        reverse("dashboard:mapping_new") + f"?tallyfy={tallyfy.pk}",
        {"tally_form": f"{tally.pk}:wMDkzb", "tallyfy_template": seed.CLIENT_ONBOARDING_ID},
    )
    mapping = Mapping.objects.get()
    plan = seed.field_id("client-onboarding", "plan")
    url = reverse("dashboard:mapping_edit_row", args=[mapping.pk, plan])
    # As the browser sends it: the whole builder, the plan row without its option table.
    data = {f"f-{plan}-source": "field:question_Gv6sUb", "name": "x", "name_template": "y"}
    row = staff_client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    for text in ("Starter", "Growth", "Enterprise"):
        assert f'<option value="{text}" selected>{text}</option>' in row
    assert "— no match —</option>" in row and 'class="unmatched"' not in row
