"""Building, versioning and switching on mappings, against the sandbox vendors over HTTP."""

import json

import httpx
import pytest
from django.urls import reverse

from integrations.models import AuditEvent, Endpoint, FieldMapping, Mapping

from .helpers import SUPPORT_FORM, builder_post, field_id, webhooks

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_mapping_is_a_draft_named_after_its_form_and_template(support_mapping):
    assert support_mapping.name == "Support intake → Support ticket triage"
    assert support_mapping.status == "draft" and support_mapping.current_version is None
    assert AuditEvent.objects.filter(action="mapping.created").count() == 1


def test_the_builder_offers_only_compatible_tally_fields(staff_client, support_mapping, vendors):
    _, _, seed = vendors
    html = staff_client.get(reverse("dashboard:mapping_edit", args=[support_mapping.pk])).content
    html = html.decode()
    email_select = html.split(f'name="f-{field_id(seed, "requester_email")}-source"')[1]
    email_select = email_select.split("</select>")[0]
    assert "Your email · INPUT_EMAIL" in email_select
    assert "Describe the problem" not in email_select  # a textarea cannot fill an email
    # Required kick-off fields first.
    assert html.index("Requester email") < html.index("Subject")


def test_enabling_is_refused_while_a_required_field_is_unmapped(
    staff_client, support_mapping, vendors, live_kickoff
):
    _, _, seed = vendors
    response = staff_client.post(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]),
        builder_post(seed, subject="field:question_Nb8yAh"),
        follow=True,
    )
    assert "Saved version 1. It cannot be enabled yet" in response.content.decode()
    assert "Requester email is required" in response.content.decode()

    response = staff_client.post(
        reverse("dashboard:mapping_enable", args=[support_mapping.pk]), follow=True
    )
    assert "Cannot enable" in response.content.decode()
    support_mapping.refresh_from_db()
    assert support_mapping.status == "draft"
    assert webhooks(live_kickoff) == []


def test_an_unmatched_choice_option_blocks_enabling_until_it_is_mapped(
    staff_client, support_mapping, vendors
):
    _, _, seed = vendors
    priority = field_id(seed, "priority")
    data = builder_post(
        seed, requester_email="field:question_Ky5vXe", priority="field:question_Lz6wYf"
    )
    staff_client.post(reverse("dashboard:mapping_edit", args=[support_mapping.pk]), data)
    support_mapping.refresh_from_db()
    detail = staff_client.get(
        reverse("dashboard:mapping_detail", args=[support_mapping.pk])
    ).content.decode()
    assert "match no Tallyfy option" in detail
    # Map each category to a priority: now it fits.
    data.update(
        {
            f"f-{priority}-opt-7cd1a0c1-8d9e-4f56-8b7c-8d9eafb0c1d8": "Normal",
            f"f-{priority}-opt-8de2b1d2-9eaf-4a67-9c8d-9eafb0c1d2e9": "Urgent",
            f"f-{priority}-opt-9ef3c2e3-afb0-4b78-8d9e-afb0c1d2e3fa": "Low",
        }
    )
    response = staff_client.post(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]), data, follow=True
    )
    assert "Saved version 2." in response.content.decode()
    rule = FieldMapping.objects.get(version__number=2, target_field_id=priority)
    assert rule.option_map == {
        "7cd1a0c1-8d9e-4f56-8b7c-8d9eafb0c1d8": "Normal",
        "8de2b1d2-9eaf-4a67-9c8d-9eafb0c1d2e9": "Urgent",
        "9ef3c2e3-afb0-4b78-8d9e-afb0c1d2e3fa": "Low",
    }
    assert "Priority: “Category” → “Category” (options mapped)" in response.content.decode()


def test_a_row_re_renders_with_its_own_check_when_its_source_changes(
    staff_client, support_mapping, vendors
):
    _, _, seed = vendors
    email = field_id(seed, "requester_email")
    url = reverse("dashboard:mapping_edit_row", args=[support_mapping.pk, email])
    empty = staff_client.post(url, {f"f-{email}-source": ""}, HTTP_HX_REQUEST="true")
    assert "Requester email is required" in empty.content.decode()
    assert "<html" not in empty.content.decode()
    mapped = staff_client.post(
        url, {f"f-{email}-source": "field:question_Ky5vXe"}, HTTP_HX_REQUEST="true"
    )
    assert "Fits" in mapped.content.decode()
    unknown = staff_client.post(
        reverse("dashboard:mapping_edit_row", args=[support_mapping.pk, "nope"]), {}
    )
    assert unknown.status_code == 404


def test_rows_keep_working_from_the_copy_read_when_the_builder_opened(
    staff_client, support_mapping, vendors
):
    """Every change of a source re-renders its row; those must not each spend three of
    Tally's 100 calls a minute, nor fail while Tally is rate-limiting us."""
    from integrations.sandbox.tally import services as tally_sandbox

    _, _, seed = vendors
    email = field_id(seed, "requester_email")
    opened = staff_client.get(reverse("dashboard:mapping_edit", args=[support_mapping.pk]))
    assert opened.status_code == 200
    tally_sandbox.faults_set(kind="429", count=20, retry_after=30)
    url = reverse("dashboard:mapping_edit_row", args=[support_mapping.pk, email])
    for source in ("field:question_Ky5vXe", "", "field:question_Ky5vXe"):
        row = staff_client.post(url, {f"f-{email}-source": source}, HTTP_HX_REQUEST="true")
        assert row.status_code == 200
    assert "Fits" in row.content.decode()
    assert tally_sandbox.faults_current().remaining == 20  # Tally was not asked again
    # Opening the builder again reads the live form: now the rate limit shows.
    reopened = staff_client.get(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]), follow=True
    )
    assert "Could not read the form or the template" in reopened.content.decode()


def test_a_row_that_cannot_be_checked_keeps_the_choice_and_says_why(
    staff_client, support_mapping, vendors
):
    from django.core.cache import cache

    from integrations.sandbox.tally import services as tally_sandbox

    _, _, seed = vendors
    email = field_id(seed, "requester_email")
    cache.clear()  # nothing kept from an earlier read
    tally_sandbox.faults_set(kind="500", count=20)
    row = staff_client.post(
        reverse("dashboard:mapping_edit_row", args=[support_mapping.pk, email]),
        {f"f-{email}-source": "field:question_Ky5vXe"},
        HTTP_HX_REQUEST="true",
    )
    # The row keeps the operator's choice; only its check cell says it was not made.
    assert row["HX-Retarget"] == f"#row-{email} > td:last-child"
    assert "Not checked" in row.content.decode()
    toast = json.loads(row["HX-Trigger"])["toast"]
    assert toast["level"] == "error"
    assert toast["message"].startswith("Could not check this row: Tally 500")
    assert "saving checks every row again" in toast["message"]


def test_a_source_that_is_not_offered_is_refused_and_nothing_is_saved(
    staff_client, support_mapping, vendors
):
    _, _, seed = vendors
    data = builder_post(seed, requester_email="field:question_Nb8yAh")  # a textarea
    response = staff_client.post(reverse("dashboard:mapping_edit", args=[support_mapping.pk]), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    support_mapping.refresh_from_db()
    assert support_mapping.current_version is None


def test_enable_registers_one_signed_webhook_and_disable_removes_it(
    staff_client, support_mapping, vendors, live_kickoff
):
    _, _, seed = vendors
    staff_client.post(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]),
        builder_post(seed, requester_email="field:question_Ky5vXe"),
    )
    response = staff_client.post(
        reverse("dashboard:mapping_enable", args=[support_mapping.pk]), follow=True
    )
    assert "Enabled Support → Triage" in response.content.decode()
    endpoint = Endpoint.objects.get()
    [hook] = webhooks(live_kickoff)
    assert hook["url"] == f"{live_kickoff}/hooks/tally/{endpoint.key}/"
    assert hook["signingSecret"] == endpoint.signing_secret
    assert hook["id"] == endpoint.tally_webhook_id
    assert endpoint.signing_secret not in response.content.decode()

    # A second mapping of the same form shares the webhook.
    support_mapping.refresh_from_db()
    second = Mapping.objects.create(
        name="Second",
        tally_connection=support_mapping.tally_connection,
        form_id=SUPPORT_FORM,
        tallyfy_connection=support_mapping.tallyfy_connection,
        template_id=support_mapping.template_id,
        current_version=support_mapping.current_version,
    )
    response = staff_client.post(reverse("dashboard:mapping_enable", args=[second.pk]), follow=True)
    assert "Enabled Second" in response.content.decode()
    assert len(webhooks(live_kickoff)) == 1

    staff_client.post(reverse("dashboard:mapping_disable", args=[support_mapping.pk]))
    assert len(webhooks(live_kickoff)) == 1  # the second mapping still needs it
    staff_client.post(reverse("dashboard:mapping_disable", args=[second.pk]))
    assert webhooks(live_kickoff) == []
    endpoint.refresh_from_db()
    assert endpoint.tally_webhook_id == ""


def test_a_template_change_marks_the_mapping_needs_attention_and_blocks_enabling(
    staff_client, support_mapping, vendors
):
    from integrations.sandbox.tallyfy.models import PrerunField
    from integrations.tasks import check_mapping_drift

    _, _, seed = vendors
    staff_client.post(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]),
        builder_post(seed, requester_email="field:question_Ky5vXe"),
    )
    PrerunField.objects.filter(pk=field_id(seed, "subject")).update(required=True)

    assert check_mapping_drift() == 1  # the periodic job
    support_mapping.refresh_from_db()
    assert support_mapping.needs_attention
    assert any("Subject" in d for d in support_mapping.attention)
    page = staff_client.get(reverse("dashboard:mapping_detail", args=[support_mapping.pk]))
    assert "Needs attention" in page.content.decode()
    response = staff_client.post(
        reverse("dashboard:mapping_enable", args=[support_mapping.pk]), follow=True
    )
    assert "Cannot enable" in response.content.decode()
    listing = staff_client.get(reverse("dashboard:mappings")).content.decode()
    assert "Needs attention" in listing


def test_preview_shows_the_exact_body_for_a_real_submission(
    staff_client, support_mapping, vendors, live_kickoff
):
    _, _, seed = vendors
    staff_client.post(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]),
        builder_post(seed, requester_email="field:question_Ky5vXe"),
    )
    created = httpx.post(
        f"{live_kickoff}/sandbox/tally/control/forms/{SUPPORT_FORM}/submissions",
        json={
            "answers": {
                "Your email": "ann@example.com",
                "Category": "Bug",
                "Describe the problem": "It broke",
            },
            "deliver": False,
        },
    ).json()
    page = staff_client.get(
        reverse("dashboard:mapping_preview", args=[support_mapping.pk]),
        {"submission": created["submissionId"]},
    ).content.decode()
    assert "Ticket from ann@example.com" in page
    assert f"&quot;{field_id(seed, 'requester_email')}&quot;: &quot;ann@example.com&quot;" in page
    assert "Tallyfy should accept this launch" in page


def test_a_test_launch_is_refused_while_the_preview_has_a_blocking_problem(
    staff_client, support_mapping, vendors, live_kickoff
):
    from integrations.sandbox.tallyfy.models import Run

    _, _, seed = vendors
    edit = reverse("dashboard:mapping_edit", args=[support_mapping.pk])
    launch = reverse("dashboard:mapping_test_launch", args=[support_mapping.pk])
    created = httpx.post(
        f"{live_kickoff}/sandbox/tally/control/forms/{SUPPORT_FORM}/submissions",
        json={"answers": {"Your email": "ann@example.com", "Category": "Bug"}, "deliver": False},
    ).json()
    runs_before = Run.objects.count()
    staff_client.post(edit, builder_post(seed, subject="field:question_Nb8yAh"))  # no email

    refused = staff_client.post(launch, {"submission": created["submissionId"]}, follow=True)

    page = refused.content.decode()
    assert "Not launched: " in page and "Requester email is required" in page
    assert Run.objects.count() == runs_before
    assert not AuditEvent.objects.filter(action="mapping.test_launch").exists()

    staff_client.post(edit, builder_post(seed, requester_email="field:question_Ky5vXe"))
    launched = staff_client.post(launch, {"submission": created["submissionId"]}, follow=True)

    assert "Launched test process" in launched.content.decode()
    assert Run.objects.count() == runs_before + 1
    assert AuditEvent.objects.filter(action="mapping.test_launch").count() == 1


def test_choosing_a_choice_question_offers_its_options_matched_by_text(staff_client, vendors):
    """Tally's Starter/Growth/Enterprise meet Tallyfy's options of the same names: the row
    redrawn for the newly chosen question shows them paired, and says it fits."""
    tally, tallyfy, seed = vendors
    staff_client.post(
        reverse("dashboard:mapping_new") + f"?tallyfy={tallyfy.pk}",
        {"tally_form": f"{tally.pk}:wMDkzb", "tallyfy_template": seed.CLIENT_ONBOARDING_ID},
    )
    mapping = Mapping.objects.get()
    plan = seed.field_id("client-onboarding", "plan")
    url = reverse("dashboard:mapping_edit_row", args=[mapping.pk, plan])
    row = staff_client.post(
        url, {f"f-{plan}-source": "field:question_Gv6sUb"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    for text in ("Starter", "Growth", "Enterprise"):
        assert f'<option value="{text}" selected>{text}</option>' in row
    assert 'class="unmatched"' not in row
    assert "Fits" in row
    # An option someone set to "no match" stays as they set it.
    starter = f"f-{plan}-opt-0b6a3f5e-1c2d-4e8f-9a0b-1c2d3e4f5a61"
    row = staff_client.post(
        url, {f"f-{plan}-source": "field:question_Gv6sUb", starter: ""}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert row.count('class="unmatched"') == 1
