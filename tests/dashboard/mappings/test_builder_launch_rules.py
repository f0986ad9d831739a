"""The builder's launch rules (when to launch, people, deadlines, tags): saved with the
mapping's Save, read back into the builder, summarised on the mapping page.

Tally and Tallyfy are the in-repo sandboxes over real HTTP; Tallyfy's members and groups
are answered with respx at the HTTP boundary (so a test can change or break them), every
other call passes through to the sandbox.
"""

import re

import pytest
import respx
from django.core.cache import cache
from django.urls import reverse

from integrations.connections import connect_tally_api_key, connect_tallyfy_token
from integrations.models import Mapping, MappingVersion

from .helpers import TALLY_KEY

pytestmark = pytest.mark.django_db(transaction=True)

ONBOARDING_FORM = "wMDkzb"
EMAIL = "question_Ds5pRy"
START = "question_Fu3rTa"
PLAN = "question_Gv6sUb"
STARTER, GROWTH, ENTERPRISE = (
    "0b6a3f5e-1c2d-4e8f-9a0b-1c2d3e4f5a61",
    "1c7b4a6f-2d3e-4f90-8b1c-2d3e4f5a6b72",
    "2d8c5b7a-3e4f-4a01-9c2d-3e4f5a6b7c83",
)
MEMBERS = [
    {"id": 40001, "email": "dana.demo@acme.example", "full_name": "Dana Demo"},
    {"id": 40002, "email": "sam.rivera@acme.example", "full_name": "Sam Rivera"},
    {"id": 40003, "email": "priya.shah@acme.example", "full_name": "Priya Shah"},
]
GROUPS = [
    {"id": "onboarding-team", "name": "Onboarding team"},
    {"id": "support", "name": "Support"},
]


@pytest.fixture
def tallyfy_people():
    """Tallyfy's members and groups; everything else goes to the sandboxes."""
    cache.clear()
    with respx.mock(assert_all_called=False) as router:
        users = router.get(path__regex=r"/organizations/[^/]+/users$").respond(
            json={"data": MEMBERS}
        )
        groups = router.get(path__regex=r"/organizations/[^/]+/groups$").respond(
            json={"data": GROUPS}
        )
        # Passed through unless a test answers for the template itself.
        template = router.get(path__regex=r"/checklists/[^/]+$").pass_through()
        router.route().pass_through()
        yield users, groups, template


@pytest.fixture
def onboarding(staff_client, sandbox_seeded, operator, live_kickoff, tallyfy_people):
    """A draft mapping: the client onboarding form → the Client onboarding template."""
    from integrations.sandbox.tallyfy import seed

    tally, _ = connect_tally_api_key(TALLY_KEY, actor=operator)
    tallyfy, _ = connect_tallyfy_token("tallyfy-sandbox-demo-token", seed.ACME_ID, actor=operator)
    response = staff_client.post(
        reverse("dashboard:mapping_new") + f"?tallyfy={tallyfy.pk}",
        {
            "tally_form": f"{tally.pk}:{ONBOARDING_FORM}",
            "tallyfy_template": seed.CLIENT_ONBOARDING_ID,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Mapping.objects.get()


def edit(client, mapping) -> str:
    return client.get(reverse("dashboard:mapping_edit", args=[mapping.pk])).content.decode()


def step_ids(html: str) -> dict[str, str]:
    """The template's steps by title, as the builder lists them."""
    found = re.findall(
        r'<tr id="deadline-(\w+)">\s*<td><span class="field-label">([^<]+)</span>', html
    )
    return {title: sid for sid, title in found}


def base_post(**extra):
    data = {
        "name": "Onboarding",
        "name_template": "Onboarding {Company name}",
        "summary_template": "",
        "tags": "",
        "folders": "",
        "owner_id": "",
        "cond-rows": "0",
        "cond-join": "all",
        "tags-rows": "0",
    }
    data.update(extra)
    return data


def save(client, mapping, data):
    html = client.post(
        reverse("dashboard:mapping_edit", args=[mapping.pk]), data, follow=True
    ).content.decode()
    return html


def selected(html: str, name: str) -> list[str]:
    """The option values selected in the select named `name`."""
    select = html.split(f'name="{name}"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)" selected>', select)


def test_the_builder_shows_the_launch_sections_collapsed_when_empty(staff_client, onboarding):
    html = edit(staff_client, onboarding)
    assert "No condition: every submission launches" in html
    assert "No deadlines set" in html and "No tags from answers" in html
    assert list(step_ids(html)) == [
        "Welcome call",
        "Set up account",
        "Kickoff meeting",
        "Send welcome pack",
        "Site visit",
        "Client sign-off",
    ]
    assert "<details open" not in html


def test_a_condition_is_saved_reloaded_and_described(staff_client, onboarding):
    save(staff_client, onboarding, base_post())
    html = save(
        staff_client,
        onboarding,
        base_post(
            **{
                "cond-rows": "0,1",
                "cond-join": "any",
                "cond-0-source_key": PLAN,
                "cond-0-op": "equals",
                "cond-0-value": "Enterprise",
                "cond-1-source_key": "question_Hw9tVc",
                "cond-1-op": "not_empty",
                "cond-otherwise": "on",
            }
        ),
    )
    assert "Saved version 2" in html
    version = MappingVersion.objects.get(mapping=onboarding, number=2)
    assert version.condition == {
        "join": "any",
        "clauses": [
            {"source_key": PLAN, "op": "equals", "value": "Enterprise", "label": "Plan"},
            {
                "source_key": "question_Hw9tVc",
                "op": "not_empty",
                "value": None,
                "label": "Services",
            },
        ],
    }
    assert version.otherwise is True
    assert "Condition changed: Plan is Enterprise or Services is not empty" in (
        version.change_summary
    )
    page = edit(staff_client, onboarding)
    assert selected(page, "cond-0-source_key") == [PLAN]
    assert selected(page, "cond-0-value") == ["Enterprise"]  # the Plan's options, as a select
    assert selected(page, "cond-join") == ["any"]
    assert re.search(r'name="cond-otherwise"[^>]* checked', page)


def test_people_are_saved_with_their_names_and_reloaded(staff_client, onboarding):
    steps = step_ids(edit(staff_client, onboarding))
    welcome = steps["Welcome call"]
    setup = steps["Set up account"]
    html = save(
        staff_client,
        onboarding,
        base_post(
            **{
                "people-owner-source": "constant",
                "people-owner-members": "40002",
                "people-process-source": "choice",
                "people-process-choice_key": PLAN,
                f"people-process-opt-{ENTERPRISE}": ["user:40003", "group:onboarding-team"],
                f"people-step-{welcome}-source": "email",
                f"people-step-{welcome}-email_key": EMAIL,
                f"people-step-{setup}-source": "constant",
                f"people-step-{setup}-groups": ["support"],
                f"people-step-{setup}-guests": "it@client.example",
            }
        ),
    )
    assert "Saved version 1" in html
    version = MappingVersion.objects.get(mapping=onboarding)
    people = {r["target"]: r for r in version.people}
    assert people["owner"]["constant"] == [{"kind": "user", "id": "40002", "label": "Sam Rivera"}]
    assert people["process"]["option_map"] == {
        ENTERPRISE: [
            {"kind": "user", "id": "40003", "label": "Priya Shah"},
            {"kind": "group", "id": "onboarding-team", "label": "Onboarding team"},
        ]
    }
    assert people[f"step:{welcome}"]["source"] == "email"
    assert people[f"step:{welcome}"]["source_key"] == EMAIL
    assert people[f"step:{setup}"]["constant"] == [
        {"kind": "group", "id": "support", "label": "Support"},
        {"kind": "guest", "id": "it@client.example", "label": "it@client.example"},
    ]
    assert [s["title"] for s in version.template_steps][:2] == ["Welcome call", "Set up account"]
    page = edit(staff_client, onboarding)
    assert selected(page, "people-owner-members") == ["40002"]
    assert selected(page, f"people-process-opt-{ENTERPRISE}") == [
        "user:40003",
        "group:onboarding-team",
    ]
    assert selected(page, f"people-step-{welcome}-email_key") == [EMAIL]
    assert 'value="it@client.example"' in page


def test_deadlines_and_tags_are_saved_and_reloaded(staff_client, onboarding):
    steps = step_ids(edit(staff_client, onboarding))
    welcome, kickoff = steps["Welcome call"], steps["Kickoff meeting"]
    save(
        staff_client,
        onboarding,
        base_post(
            **{
                f"deadline-{welcome}-source": "answer",
                f"deadline-{welcome}-source_key": START,
                f"deadline-{welcome}-offset_days": "-2",
                f"deadline-{welcome}-time_of_day": "09:30",
                f"deadline-{kickoff}-source": "submitted",
                f"deadline-{kickoff}-offset_days": "7",
                "tags-0-source_key": PLAN,
                f"tags-0-opt-{ENTERPRISE}": "vip, enterprise",
                f"tags-0-opt-{STARTER}": "",
            }
        ),
    )
    version = MappingVersion.objects.get(mapping=onboarding)
    assert version.deadlines == [
        {
            "step_id": welcome,
            "source": "answer",
            "source_key": START,
            "offset_days": -2,
            "time_of_day": "09:30",
        },
        {
            "step_id": kickoff,
            "source": "submitted",
            "source_key": "",
            "offset_days": 7,
            "time_of_day": "17:00",
        },
    ]
    assert version.tag_rules == [
        {"source_key": PLAN, "option_map": {ENTERPRISE: ["vip", "enterprise"]}}
    ]
    page = edit(staff_client, onboarding)
    assert f'name="deadline-{welcome}-time_of_day" value="09:30"' in page
    assert selected(page, "tags-0-source_key") == [PLAN]
    assert 'value="vip, enterprise"' in page
    assert "“Preferred start date” − 2 days at 09:30 UTC" in page


def test_bad_input_is_explained_next_to_its_field_and_nothing_is_saved(staff_client, onboarding):
    welcome = step_ids(edit(staff_client, onboarding))["Welcome call"]
    html = save(
        staff_client,
        onboarding,
        base_post(
            **{
                "cond-0-source_key": "question_Bq7mLw",
                "cond-0-op": "gt",
                "cond-0-value": "abc",
                f"deadline-{welcome}-source": "answer",
                f"deadline-{welcome}-source_key": START,
                f"deadline-{welcome}-time_of_day": "25:00",
                "people-owner-source": "constant",
                "people-owner-members": "99999",
            }
        ),
    )
    assert "Nothing was saved" in html
    assert "Enter a number to compare with, not “abc”." in html
    assert "Enter a time as HH:MM (24 hours, UTC), e.g. 17:00, not “25:00”." in html
    assert "No Tallyfy member has the id 99999: pick one from the list." in html
    assert not MappingVersion.objects.exists()


def test_a_step_owned_by_guests_only_is_refused(staff_client, onboarding):
    setup = step_ids(edit(staff_client, onboarding))["Set up account"]
    html = save(
        staff_client,
        onboarding,
        base_post(
            **{
                f"people-step-{setup}-source": "constant",
                f"people-step-{setup}-guests": "it@client.example",
            }
        ),
    )
    assert "Tallyfy refuses a step assigned to guests only" in html
    assert not MappingVersion.objects.exists()


def test_without_the_templates_steps_no_step_rule_is_offered(
    staff_client, onboarding, tallyfy_people
):
    from integrations.sandbox.tallyfy.models import Checklist
    from integrations.sandbox.tallyfy.shapes import checklist_json

    body = checklist_json(Checklist.objects.get(id=onboarding.template_id))
    del body["steps"]
    template = tallyfy_people[2]
    template.pass_through(False)
    template.respond(json={"data": body})
    html = edit(staff_client, onboarding)
    assert (
        "Tallyfy did not list this template&#x27;s steps, so per-step owners and deadlines "
        "can&#x27;t be set." in html
    )
    assert 'id="deadline-' not in html and "people-step-" not in html
    assert 'name="people-owner-source"' in html  # the owner is still offered


def test_when_tallyfy_members_cannot_be_read_the_rest_still_works(
    staff_client, onboarding, tallyfy_people
):
    users = tallyfy_people[0]
    users.respond(status_code=503, json={"error": "down"})
    html = edit(staff_client, onboarding)
    assert "Could not read Tallyfy&#x27;s members and groups" in html
    assert 'name="people-owner-source"' not in html
    assert 'name="cond-0-source_key"' in html
    html = save(
        staff_client,
        onboarding,
        base_post(
            **{
                "cond-0-source_key": PLAN,
                "cond-0-op": "equals",
                "cond-0-value": "Growth",
            }
        ),
    )
    assert "Saved version 1" in html
    assert MappingVersion.objects.get().condition["clauses"][0]["value"] == "Growth"


def test_the_forms_other_enabled_mappings_show_what_they_take(staff_client, onboarding, operator):
    save(
        staff_client,
        onboarding,
        base_post(
            **{
                "name": "Enterprise onboarding",
                "cond-0-source_key": PLAN,
                "cond-0-op": "equals",
                "cond-0-value": "Enterprise",
            }
        ),
    )
    Mapping.objects.filter(pk=onboarding.pk).update(status=Mapping.Status.ENABLED)
    other = Mapping.objects.create(
        name="Everyone else",
        tally_connection=onboarding.tally_connection,
        form_id=onboarding.form_id,
        tallyfy_connection=onboarding.tallyfy_connection,
        template_id=onboarding.template_id,
        created_by=operator,
    )
    html = edit(staff_client, other)
    assert "Enterprise onboarding: Plan is Enterprise" in html


def test_adding_a_test_keeps_what_was_typed_and_saves_nothing(staff_client, onboarding):
    data = base_post(
        **{
            "cond-0-source_key": PLAN,
            "cond-0-op": "equals",
            "cond-0-value": "Starter",
            "launch-add": "cond",
        }
    )
    html = staff_client.post(
        reverse("dashboard:mapping_edit_launch", args=[onboarding.pk]), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert selected(html, "cond-0-value") == ["Starter"]
    assert 'name="cond-1-source_key"' in html
    assert 'name="cond-rows" value="0,1"' in html
    data.update({"cond-rows": "0,1", "launch-add": "", "launch-remove": "cond-0"})
    html = staff_client.post(
        reverse("dashboard:mapping_edit_launch", args=[onboarding.pk]), data
    ).content.decode()
    assert 'name="cond-0-source_key"' not in html and 'name="cond-rows" value="1"' in html
    assert not MappingVersion.objects.exists()


def test_the_mapping_page_summarises_the_launch_rules(staff_client, onboarding):
    steps = step_ids(edit(staff_client, onboarding))
    welcome = steps["Welcome call"]
    save(
        staff_client,
        onboarding,
        base_post(
            **{
                "cond-0-source_key": PLAN,
                "cond-0-op": "one_of",
                "cond-0-values": ["Growth", "Enterprise"],
                "people-owner-source": "email",
                "people-owner-email_key": EMAIL,
                f"people-step-{welcome}-source": "constant",
                f"people-step-{welcome}-members": ["40001"],
                f"deadline-{welcome}-source": "submitted",
                f"deadline-{welcome}-offset_days": "2",
                "tags-0-source_key": PLAN,
                f"tags-0-opt-{GROWTH}": "growth",
            }
        ),
    )
    html = staff_client.get(
        reverse("dashboard:mapping_detail", args=[onboarding.pk]) + "?check=no"
    ).content.decode()
    summary = html.split('id="launch-rules-summary"')[1].split("</section>")[0]
    assert "Plan is one of Growth or Enterprise" in summary
    assert "the member whose email “Email” holds" in summary
    assert "Welcome call" in summary and "Dana Demo" in summary
    assert "2 days after it was submitted" in summary
    assert "by “Plan”: Growth → growth" in summary


def test_a_person_who_left_tallyfy_is_flagged_in_people_and_blocks_enable(
    staff_client, onboarding, tallyfy_people
):
    users, _, _ = tallyfy_people
    save(
        staff_client,
        onboarding,
        base_post(**{"people-owner-source": "constant", "people-owner-members": "40002"}),
    )
    # Sam leaves the organization: Tallyfy no longer lists him.
    users.respond(json={"data": [m for m in MEMBERS if m["id"] != 40002]})
    cache.clear()

    page = edit(staff_client, onboarding)

    people = page.split('id="launch-people"')[1].split("</section>")[0]
    assert (
        '<p class="problem-line error">Process owner: the member Sam Rivera is not in the '
        "Tallyfy organization any more.</p>" in people
    )
    enable = staff_client.post(
        reverse("dashboard:mapping_enable", args=[onboarding.pk]), follow=True
    ).content.decode()
    assert "Cannot enable" in enable
    onboarding.refresh_from_db()
    assert onboarding.status != Mapping.Status.ENABLED
