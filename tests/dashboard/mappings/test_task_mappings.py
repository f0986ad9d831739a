"""The staff side of "Complete a task" mappings (a form's answers fill a running process's
task and complete it), and the follow-up form link of launch mappings.

Tally and Tallyfy are the in-repo sandboxes over real HTTP (the `vendors` fixture); where a
test needs what the sandbox does not have yet (an approval step, a form with a
`kickoff_ref` hidden field), respx answers that one call at the HTTP boundary and passes
every other call through to the sandbox.
"""

import re

import pytest
import respx
from django.core.cache import cache
from django.urls import reverse

from integrations.models import Mapping, MappingVersion

from .helpers import SUPPORT_FORM, builder_post

pytestmark = pytest.mark.django_db(transaction=True)

ONBOARDING_FORM = "wMDkzb"
REF = "question_Ap4kQz_5f0c1d2e-8a61-4c0f-9f1e-0b7d3c2a4e11"  # hidden field "ref"
EMAIL = "question_Ds5pRy"
PLAN = "question_Gv6sUb"
STARTER, GROWTH, ENTERPRISE = (
    "0b6a3f5e-1c2d-4e8f-9a0b-1c2d3e4f5a61",
    "1c7b4a6f-2d3e-4f90-8b1c-2d3e4f5a6b72",
    "2d8c5b7a-3e4f-4a01-9c2d-3e4f5a6b7c83",
)


def step_id(seed, title, template="client-onboarding"):
    return seed.stable_id("step", template, title)


def capture_id(seed, alias, template="client-onboarding"):
    return seed.field_id(template, f"task:{alias}")


def new_task_mapping(client, vendors, step="Set up account", **extra):
    tally, tallyfy, seed = vendors
    return client.post(
        reverse("dashboard:mapping_new") + f"?tallyfy={tallyfy.pk}",
        {
            "kind": "complete_task",
            "tally_form": f"{tally.pk}:{ONBOARDING_FORM}",
            "tallyfy_template": seed.CLIENT_ONBOARDING_ID,
            "step": step_id(seed, step) if step else "",
            **extra,
        },
    )


@pytest.fixture
def task_mapping(staff_client, vendors):
    response = new_task_mapping(staff_client, vendors)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Mapping.objects.get()


def edit(client, mapping) -> str:
    response = client.get(reverse("dashboard:mapping_edit", args=[mapping.pk]))
    assert response.status_code == 200
    return response.content.decode()


def save(client, mapping, data) -> str:
    url = reverse("dashboard:mapping_edit", args=[mapping.pk])
    return client.post(url, data, follow=True).content.decode()


def task_post(seed, **extra):
    data = {"name": "Set up from the form", "cond-rows": "0", "cond-join": "all", "tags-rows": "0"}
    data.update(extra)
    return data


def selected(html: str, name: str) -> list[str]:
    select = html.split(f'name="{name}"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)" selected>', select)


def checked(html: str, name: str) -> list[str]:
    return re.findall(
        rf'<input type="radio" name="{re.escape(name)}" value="([^"]*)"[^>]* checked', html
    )


# --- New mapping ---------------------------------------------------------------------------


def test_new_mapping_offers_the_templates_steps_for_a_task(staff_client, vendors):
    _, tallyfy, seed = vendors
    html = staff_client.get(
        reverse("dashboard:mapping_new"),
        {
            "tallyfy": tallyfy.pk,
            "kind": "complete_task",
            "tallyfy_template": seed.CLIENT_ONBOARDING_ID,
        },
    ).content.decode()
    assert "What should a submission do?" in html
    steps = html.split('name="step"')[1].split("</select>")[0]
    # The template's steps in order (the sandbox may list more after these).
    assert re.findall(r'<option value="\w+">([^<]+)</option>', steps)[:4] == [
        "Welcome call",
        "Set up account",
        "Kickoff meeting",
        "Send welcome pack",
    ]


def test_a_task_mapping_is_created_for_the_chosen_step(staff_client, vendors):
    _, _, seed = vendors
    response = new_task_mapping(staff_client, vendors)
    assert response.status_code == 302
    mapping = Mapping.objects.get()
    assert mapping.kind == Mapping.Kind.COMPLETE_TASK
    assert (mapping.step_id, mapping.step_name) == (
        step_id(seed, "Set up account"),
        "Set up account",
    )
    assert mapping.name == "Client onboarding request → Set up account (Client onboarding)"


def test_a_task_mapping_needs_its_step(staff_client, vendors):
    response = new_task_mapping(staff_client, vendors, step=None)
    assert response.status_code == 200
    assert "Pick the step whose task a submission completes." in response.content.decode()
    assert not Mapping.objects.exists()


def test_a_template_whose_steps_tallyfy_does_not_list_gets_no_task_mapping(staff_client, vendors):
    from integrations.sandbox.tallyfy import switches

    switches.flip("template_steps", "absent")
    response = new_task_mapping(staff_client, vendors)
    assert response.status_code == 200
    assert "Tallyfy did not list the steps of “Client onboarding”" in response.content.decode()
    assert not Mapping.objects.exists()


def test_a_launch_mapping_is_still_the_default(staff_client, vendors):
    tally, tallyfy, seed = vendors
    response = staff_client.post(
        reverse("dashboard:mapping_new") + f"?tallyfy={tallyfy.pk}",
        {"tally_form": f"{tally.pk}:{SUPPORT_FORM}", "tallyfy_template": seed.SUPPORT_TRIAGE_ID},
    )
    assert response.status_code == 302
    mapping = Mapping.objects.get()
    assert (mapping.kind, mapping.step_id) == (Mapping.Kind.LAUNCH, "")


# --- The task builder ------------------------------------------------------------------------


def test_the_task_builder_shows_the_steps_task_fields_and_no_launch_sections(
    staff_client, task_mapping
):
    html = edit(staff_client, task_mapping)
    assert "Task fields of “Set up account”" in html
    assert re.findall(r'<span class="field-label">([^<]+)</span>', html) == ["Account URL"]
    assert "Which run" in html and "When to complete" in html
    for launch_only in (
        "Process name",
        "People",
        "Deadlines",
        "Tags from answers",
        "Insert follow-up form link",  # the follow-up form itself serves the next step
    ):
        assert launch_only not in html
    assert "Approval" not in html  # not an approval step


def test_rows_and_a_hidden_field_run_rule_are_saved_and_reloaded(
    staff_client, task_mapping, vendors
):
    _, _, seed = vendors
    url = capture_id(seed, "account_url")
    html = save(
        staff_client,
        task_mapping,
        task_post(
            seed,
            **{
                f"f-{url}-source": "template",
                f"f-{url}-template": "https://{Company name}.example",
            },
            **{"run-how": "hidden", "run-ref_key": REF, "run-run_key": "", "run-task_key": ""},
        ),
    )
    assert "Saved version 1" in html
    version = MappingVersion.objects.get(mapping=task_mapping)
    assert version.run_match == {"how": "hidden", "ref_key": REF, "run_key": "", "task_key": ""}
    assert [f["label"] for f in version.template_fields] == ["Account URL"]
    rule = version.fields.get()
    assert (rule.target_label, rule.template) == ("Account URL", "https://{Company name}.example")
    assert version.name_template == "" and version.people == [] and version.approval == {}
    # The mapping page says it in words.
    assert "Completes a task" in html and "the Kickoff reference in “ref”" in html
    assert "Preview" not in html.split("<main")[1].split("</header>")[0]
    page = edit(staff_client, task_mapping)
    assert checked(page, "run-how") == ["hidden"]
    assert selected(page, "run-ref_key") == [REF]
    assert selected(page, f"f-{url}-source") == ["template"]


def test_a_match_on_a_kick_off_field_is_saved_with_its_tie_break(
    staff_client, task_mapping, vendors
):
    _, _, seed = vendors
    contact = seed.field_id("client-onboarding", "contact_email")
    html = save(
        staff_client,
        task_mapping,
        task_post(
            seed,
            **{
                "run-how": "field",
                "run-field_id": contact,
                "run-source_key": EMAIL,
                "run-pick": "newest",
            },
        ),
    )
    assert "Saved version 1" in html
    assert MappingVersion.objects.get().run_match == {
        "how": "field",
        "field_id": contact,
        "field_label": "Contact email",
        "source_key": EMAIL,
        "pick": "newest",
    }
    assert (
        "the open run whose kick-off field “Contact email” equals the answer to “Email”; "
        "if several match: take the newest"
    ) in html


def test_bad_run_rules_say_what_is_missing_and_save_nothing(staff_client, task_mapping, vendors):
    _, _, seed = vendors
    contact = seed.field_id("client-onboarding", "contact_email")
    html = save(staff_client, task_mapping, task_post(seed))
    assert "Choose how to find the run" in html
    html = save(staff_client, task_mapping, task_post(seed, **{"run-how": "hidden"}))
    assert (
        "Pick the hidden field that holds the Kickoff reference (kickoff_ref) or the run id."
        in html
    )
    html = save(
        staff_client, task_mapping, task_post(seed, **{"run-how": "field", "run-field_id": contact})
    )
    assert "Pick the answer the kick-off field must equal." in html
    assert "Nothing was saved" in html
    assert not MappingVersion.objects.exists()


def test_a_required_task_field_left_empty_is_flagged_on_its_row(
    staff_client, task_mapping, vendors
):
    _, _, seed = vendors
    html = save(
        staff_client, task_mapping, task_post(seed, **{"run-how": "hidden", "run-ref_key": REF})
    )
    required = "Account URL is required: map a Tally field, a constant or a default."
    assert "It cannot be enabled yet" in html and required in html
    row = edit(staff_client, task_mapping).split(f'id="row-{capture_id(seed, "account_url")}"')[1]
    assert f'<li class="blocking">{required}</li>' in row.split("</tr>")[0]


def test_a_condition_is_saved_as_when_to_complete(staff_client, task_mapping, vendors):
    _, _, seed = vendors
    save(
        staff_client,
        task_mapping,
        task_post(
            seed,
            **{
                "run-how": "hidden",
                "run-ref_key": REF,
                "cond-0-source_key": PLAN,
                "cond-0-op": "equals",
                "cond-0-value": "Enterprise",
            },
        ),
    )
    assert MappingVersion.objects.get().condition["clauses"][0]["value"] == "Enterprise"
    detail = staff_client.get(reverse("dashboard:mapping_detail", args=[task_mapping.pk]))
    assert "when Plan is Enterprise" in detail.content.decode()


# --- Approval steps ----------------------------------------------------------------------------


@pytest.fixture
def approval_step(vendors):
    """Tallyfy answers the Client onboarding template with "Set up account" as an approval
    step; every other call goes to the sandboxes."""
    from integrations.sandbox.tallyfy import shapes
    from integrations.sandbox.tallyfy.models import Checklist

    _, _, seed = vendors
    setup = step_id(seed, "Set up account")

    def template(request, checklist_id):
        body = shapes.checklist_json(Checklist.objects.get(pk=checklist_id))
        for step in body["steps"]:
            if step["id"] == setup:
                step["task_type"] = "approval"
        return respx.MockResponse(200, json={"data": body})

    cache.clear()
    with respx.mock(assert_all_called=False) as router:
        router.get(path__regex=r"/checklists/(?P<checklist_id>[0-9a-f]{32})$").mock(
            side_effect=template
        )
        router.route().pass_through()
        yield


def test_an_approval_step_needs_its_decision_question(staff_client, vendors, approval_step):
    _, _, seed = vendors
    new_page = staff_client.get(
        reverse("dashboard:mapping_new"),
        {"kind": "complete_task", "tallyfy_template": seed.CLIENT_ONBOARDING_ID},
    ).content.decode()
    assert "Set up account · approval" in new_page
    mapping = Mapping.objects.get(pk=new_task_mapping(staff_client, vendors).url.split("/")[-3])
    html = edit(staff_client, mapping)
    assert "Approval" in html and "is an approval step" in html
    html = save(staff_client, mapping, task_post(seed, **{"run-how": "hidden", "run-ref_key": REF}))
    assert "Pick the question whose answer approves or rejects “Set up account”." in html
    assert not MappingVersion.objects.exists()


def test_an_approval_rule_is_saved_and_reloaded(staff_client, vendors, approval_step):
    _, _, seed = vendors
    mapping = Mapping.objects.get(pk=new_task_mapping(staff_client, vendors).url.split("/")[-3])
    # Choosing the question redraws the section with its options.
    fragment = staff_client.post(
        reverse("dashboard:mapping_edit_task", args=[mapping.pk]), {"approval-source_key": PLAN}
    ).content.decode()
    assert re.findall(r"<label for=\"id_approval-opt-[^\"]+\">([^<]+)</label>", fragment) == [
        "Starter",
        "Growth",
        "Enterprise",
    ]
    html = save(
        staff_client,
        mapping,
        task_post(
            seed,
            **{
                "run-how": "hidden",
                "run-ref_key": REF,
                "approval-source_key": PLAN,
                f"approval-opt-{ENTERPRISE}": "approve",
                f"approval-opt-{STARTER}": "reject",
                f"approval-opt-{GROWTH}": "",
            },
        ),
    )
    assert "Saved version 1" in html
    assert MappingVersion.objects.get().approval == {
        "source_key": PLAN,
        "approve": ["Enterprise"],
        "reject": ["Starter"],
    }
    assert (
        "“Plan”: “Enterprise” approves, “Starter” rejects; any other answer fails the delivery"
        in html
    )
    page = edit(staff_client, mapping)
    assert selected(page, "approval-source_key") == [PLAN]
    assert selected(page, f"approval-opt-{ENTERPRISE}") == ["approve"]
    assert selected(page, f"approval-opt-{GROWTH}") == [""]
    # The engine's check of the saved rule shows in the Approval section.
    section = page.split('id="task-approval"')[1].split("</section>")[0]
    assert "“Growth” neither approves nor rejects: such a submission will fail." in section


def test_an_approval_question_with_nothing_marked_is_refused(staff_client, vendors, approval_step):
    _, _, seed = vendors
    mapping = Mapping.objects.get(pk=new_task_mapping(staff_client, vendors).url.split("/")[-3])
    html = save(
        staff_client,
        mapping,
        task_post(
            seed,
            **{
                "run-how": "hidden",
                "run-ref_key": REF,
                "approval-source_key": PLAN,
                **{f"approval-opt-{o}": "" for o in (STARTER, GROWTH, ENTERPRISE)},
            },
        ),
    )
    assert "Mark which option approves and which rejects" in html
    assert not MappingVersion.objects.exists()


# --- List and detail ----------------------------------------------------------------------------


def test_the_list_says_what_each_mapping_does(staff_client, support_mapping, vendors):
    assert new_task_mapping(staff_client, vendors).status_code == 302
    html = staff_client.get(reverse("dashboard:mappings")).content.decode()
    assert "Complete task: Set up account" in html
    assert re.search(r'<span class="kind">Launch</span>', html)


# --- The follow-up form of a launch mapping -------------------------------------------------------


def test_the_launch_builder_offers_the_follow_up_form_and_says_what_it_lacks(
    staff_client, support_mapping
):
    html = edit(staff_client, support_mapping)
    assert "Follow-up form" in html
    assert 'data-insert="{followup_link}"' in html and "Insert follow-up form link" in html
    assert "js/insert.js" in html
    assert "Client onboarding request — needs kickoff_ref" in html
    assert (
        f'<option value="{SUPPORT_FORM}"'
        not in html.split('name="followup_form_id"')[1].split("</select>")[0]
    )  # not itself
    hint = staff_client.get(
        reverse("dashboard:mapping_followup_hint", args=[support_mapping.pk]),
        {"followup_form_id": ONBOARDING_FORM},
    ).content.decode()
    assert (
        "Add a Hidden fields block with the field kickoff_ref to “Client onboarding request”."
        in hint
    )
    assert f"/r/{ONBOARDING_FORM}?kickoff_ref=" in hint


def test_the_follow_up_form_is_saved_and_shown(staff_client, vendors, support_mapping):
    _, _, seed = vendors
    data = builder_post(seed) | {
        "summary_template": "Sign off here: {followup_link}",
        "followup_form_id": ONBOARDING_FORM,
    }
    html = save(staff_client, support_mapping, data)
    assert "Saved version 1" in html
    assert MappingVersion.objects.get().followup_form_id == ONBOARDING_FORM
    assert "Follow-up link" in html and f"/r/{ONBOARDING_FORM}?kickoff_ref=" in html
    assert selected(edit(staff_client, support_mapping), "followup_form_id") == [ONBOARDING_FORM]


def test_the_follow_up_link_without_a_form_is_refused(staff_client, vendors, support_mapping):
    _, _, seed = vendors
    data = builder_post(seed) | {"summary_template": "Sign off: {followup_link}"}
    html = save(staff_client, support_mapping, data)
    assert "{followup_link} is used, but no follow-up form is chosen" in html
    assert not MappingVersion.objects.exists()


def test_forms_with_the_kickoff_ref_hidden_field_are_offered_first(staff_client, support_mapping):
    """Tally answers the onboarding form's questions with a kickoff_ref hidden field."""
    cache.clear()
    questions = [
        {
            "id": "Zz1hid",
            "type": "HIDDEN_FIELDS",
            "title": "Hidden fields",
            "fields": [
                {
                    "uuid": "0f0f0f0f-1111-2222-3333-444455556666",
                    "type": "HIDDEN_FIELDS",
                    "title": "kickoff_ref",
                }
            ],
        }
    ]
    with respx.mock(assert_all_called=False) as router:
        router.get(path__regex=rf"/forms/{ONBOARDING_FORM}/questions$").respond(
            json={"questions": questions}
        )
        router.route().pass_through()
        html = edit(staff_client, support_mapping)
    select = html.split('name="followup_form_id"')[1].split("</select>")[0]
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)
    assert groups[0][0] == "Ready: has the hidden field kickoff_ref"
    assert "Client onboarding request" in re.findall(r">([^<]+)</option>", groups[0][1])
    assert "Client onboarding request — needs" not in select


def test_a_task_row_is_rechecked_when_its_source_changes(staff_client, task_mapping, vendors):
    _, _, seed = vendors
    url = capture_id(seed, "account_url")
    edit(staff_client, task_mapping)  # keeps the sides the rows reuse
    row = staff_client.post(
        reverse("dashboard:mapping_edit_row", args=[task_mapping.pk, url]),
        {f"f-{url}-source": "field:question_Bq7mLw"},
    ).content.decode()
    assert "Account URL" in row and '<span class="badge ok">Fits</span>' in row


def test_a_task_mapping_can_pick_the_next_steps_follow_up_form(staff_client, task_mapping, vendors):
    """For the next step: the task mapping's follow-up form, its link carrying the run id."""
    page = edit(staff_client, task_mapping)
    assert 'name="followup_form_id"' in page
    assert "run_id" in page.split('id="followup"')[1].split("</div>\n</div>")[0]


def test_an_unknown_placeholder_in_a_task_fields_template_is_refused_on_save(
    staff_client, task_mapping, vendors
):
    _, _, seed = vendors
    url = capture_id(seed, "account_url")
    html = save(
        staff_client,
        task_mapping,
        task_post(
            seed,
            **{f"f-{url}-source": "template", f"f-{url}-template": "https://{Compnay}.example"},
            **{"run-how": "hidden", "run-ref_key": REF, "run-run_key": "", "run-task_key": ""},
        ),
    )
    assert "{Compnay}" in html and "Saved version" not in html
    assert not MappingVersion.objects.filter(mapping=task_mapping).exists()
