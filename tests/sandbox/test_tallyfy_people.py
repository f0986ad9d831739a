# ruff: noqa: F811
# (F811: pytest fixtures imported from the support module)
"""People and deadlines in the sandbox Tallyfy: the members and groups lists, a template's
steps (listed or absent), and a launch's owner, members, groups, roles and per-step owners
and deadlines checked the way Tallyfy checks them — wrong bodies get a 422 naming the field
and create nothing; right ones show on the run's JSON and page."""

from __future__ import annotations

import pytest

from integrations.sandbox.tallyfy import seed as demo
from integrations.sandbox.tallyfy import services, switches
from integrations.sandbox.tallyfy.models import Run
from tests.sandbox.test_tallyfy_support import (  # noqa: F401 (fixtures)
    ACME,
    BETA,
    ONBOARDING,
    api,
    launch_body,
    seeded,
)

WELCOME = demo.stable_id("step", "client-onboarding", "Welcome call")
KICKOFF = demo.stable_id("step", "client-onboarding", "Kickoff meeting")
DESIGN_STEP = demo.stable_id("step", "design-brief", "Design")
ONBOARDING_TEAM = demo.group_id(ACME, "onboarding-team")
SUPPORT = demo.group_id(ACME, "support")
STUDIO = demo.group_id(BETA, "studio")


def refused(api, body, field):
    """The launch's 422 errors for `field`; asserts nothing was created."""
    response = api.launch(body)
    assert response.status_code == 422, response.json()
    errors = response.json()["errors"]
    assert field in errors, errors
    assert response.json()["message"]
    assert not Run.objects.exists()
    return errors[field][0]


def run_page(api, run_id):
    return api.client.get(f"/sandbox/tallyfy/app/{ACME}/processes/{run_id}").content.decode()


# --- Members and groups -------------------------------------------------------------------


def test_it_lists_the_organizations_members_paged(api):
    first = api.get(f"/organizations/{ACME}/users", per_page=2).json()
    assert first["meta"]["pagination"]["total"] == 3
    assert first["meta"]["pagination"]["total_pages"] == 2
    assert first["data"][0] == {
        "id": demo.DEMO_USER_ID,
        "email": "dana.demo@acme.example",
        "username": "dana.demo",
        "first_name": "Dana",
        "last_name": "Demo",
        "full_name": "Dana Demo",
        "timezone": "UTC",
    }
    second = api.get(f"/organizations/{ACME}/users", per_page=2, page=2).json()
    assert [m["email"] for m in second["data"]] == ["priya.shah@acme.example"]
    assert "lee.chen@beta.example" not in str(first) + str(second)  # another org's member


def test_it_lists_the_organizations_groups_with_their_member_ids(api):
    body = api.get(f"/organizations/{ACME}/groups").json()
    assert [(g["id"], g["name"], g["members"]) for g in body["data"]] == [
        (ONBOARDING_TEAM, "Onboarding team", [demo.DEMO_USER_ID, 40002]),
        (SUPPORT, "Support", [40003]),
    ]
    assert body["meta"]["pagination"]["total"] == 2


@pytest.mark.parametrize("path", ["users", "groups"])
def test_members_and_groups_need_a_token_reaching_the_organization(api, path):
    assert api.get(f"/organizations/{ACME}/{path}", token=None).status_code == 401
    assert api.get(f"/organizations/{BETA}/{path}").status_code == 403


@pytest.mark.parametrize("path", ["users", "groups"])
def test_members_and_groups_obey_fault_switches(api, path):
    services.fault_add(kind="500", scope="all")
    assert api.get(f"/organizations/{ACME}/{path}").status_code == 500
    assert api.get(f"/organizations/{ACME}/{path}").status_code == 200


# --- Template steps ----------------------------------------------------------------------


def test_a_template_lists_its_steps_by_default(api):
    data = api.get(f"/organizations/{ACME}/checklists/{ONBOARDING}", **{"with": "steps"}).json()
    steps = data["data"]["steps"]
    assert [s["title"] for s in steps] == [
        "Welcome call",
        "Set up account",
        "Kickoff meeting",
        "Send welcome pack",
        "Site visit",
        "Client sign-off",
    ]
    assert steps[0]["id"] == WELCOME


def test_template_steps_absent_leaves_the_steps_key_out(api):
    switches.flip("template_steps", "absent")
    data = api.get(f"/organizations/{ACME}/checklists/{ONBOARDING}", **{"with": "steps"}).json()
    assert "steps" not in data["data"]
    assert data["data"]["prerun"]  # the rest of the template is still there


# --- Launch: process people ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"owner_id": "40002"}, "owner_id", "'40002'"),  # a string, not the member's int id
        ({"owner_id": 40004}, "owner_id", "40004"),  # a member of another organization
        ({"users": [40002, 40004]}, "users", "40004 is not"),
        ({"users": "40002"}, "users", "member ids"),
        ({"groups": [STUDIO]}, "groups", STUDIO),
        ({"groups": [{"id": SUPPORT}]}, "groups", "group ids"),
        ({"roles": [{"users": [40002]}]}, "roles", "The roles must be an object keyed by role id."),
        ({"roles": {"r1": {"users": [99]}}}, "roles.r1", "unknown user id"),
    ],
)
def test_it_refuses_process_people_tallyfy_would_refuse(api, change, field, words):
    assert words in refused(api, launch_body(**change), field)


def test_it_keeps_the_process_people_it_was_sent(api):
    body = launch_body(
        owner_id=40002,
        users=[40003],
        groups=[SUPPORT],
        roles={"r1": {"users": [40003]}},
        tags=["vip"],
    )
    response = api.launch(body)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert (data["owner_id"], data["users"], data["groups"]) == (40002, [40003], [SUPPORT])
    assert data["roles"] == {"r1": {"users": [40003]}}
    html = run_page(api, data["id"])
    assert "<strong>Owner:</strong> Sam Rivera" in html
    assert "<strong>Members:</strong> Priya Shah, Support" in html
    assert '<span class="badge">vip</span>' in html


# --- Launch: per-step owners and deadlines ---------------------------------------------


def test_it_names_a_tasks_key_that_is_not_a_step_of_the_checklist(api):
    message = refused(api, launch_body(tasks={DESIGN_STEP: {}}), f"tasks.{DESIGN_STEP}")
    assert DESIGN_STEP in message
    assert "Client onboarding" in message


def test_a_guest_cannot_be_a_steps_only_assignee(api):
    owners = {"guests": ["guest@example.com"]}
    message = refused(
        api, launch_body(tasks={WELCOME: {"owners": owners}}), f"tasks.{WELCOME}.owners"
    )
    assert message == "A guest can't be the only assignee of Welcome call."


def test_a_guest_beside_a_member_is_fine(api):
    owners = {"users": [40002], "guests": ["guest@example.com"]}
    response = api.launch(launch_body(tasks={WELCOME: {"owners": owners}}))
    assert response.status_code == 201, response.json()
    html = run_page(api, response.json()["data"]["id"])
    assert "Sam Rivera, guest@example.com (guest)" in html


@pytest.mark.parametrize(
    "owners",
    [{"users": ["40002"]}, {"groups": [STUDIO]}, {"people": [40002]}, [40002]],
    ids=["string-user", "other-org-group", "unknown-key", "a-list"],
)
def test_it_refuses_step_owners_of_the_wrong_shape(api, owners):
    assert refused(api, launch_body(tasks={WELCOME: {"owners": owners}}), f"tasks.{WELCOME}.owners")


@pytest.mark.parametrize(
    "deadline", ["2026-12-15T17:00:00.000Z", "2026-12-15T17:00:00Z"], ids=["millis", "seconds"]
)
def test_iso_deadlines_are_stored_and_shown(api, deadline):
    owners = {"users": [40003], "groups": [ONBOARDING_TEAM]}
    body = launch_body(owner_id=40002, tasks={KICKOFF: {"deadline": deadline, "owners": owners}})
    response = api.launch(body)
    assert response.status_code == 201, response.json()
    run_id = response.json()["data"]["id"]
    tasks = {
        t["step_id"]: t
        for t in api.get(f"/organizations/{ACME}/runs/{run_id}/tasks").json()["data"]
    }
    assert tasks[KICKOFF]["deadline"] == deadline
    assert tasks[KICKOFF]["owners"] == {"users": [40003], "guests": [], "groups": [ONBOARDING_TEAM]}
    assert tasks[WELCOME]["owners"]["users"] == [40002]  # no owners sent: the process owner
    assert tasks[WELCOME]["deadline"] is None
    html = run_page(api, run_id)
    assert "Due 2026-12-15 17:00 UTC" in html
    assert "Priya Shah, Onboarding team" in html


@pytest.mark.parametrize(
    "deadline",
    [
        "2026-12-15 17:00:00",
        "2026-12-15",
        "2026-12-15T17:00:00+01:00",
        "2026-02-30T17:00:00.000Z",
        "",
        1765818000,
    ],
)
def test_iso_variant_refuses_any_other_deadline_naming_the_format(api, deadline):
    body = launch_body(tasks={KICKOFF: {"deadline": deadline}})
    message = refused(api, body, f"tasks.{KICKOFF}.deadline")
    assert "YYYY-MM-DDTHH:MM:SS.000Z" in message


def test_space_variant_takes_the_tasks_docs_format_only(api):
    switches.flip("deadline_format", "space")
    body = launch_body(tasks={KICKOFF: {"deadline": "2026-12-15T17:00:00.000Z"}})
    assert "YYYY-MM-DD HH:MM:SS" in refused(api, body, f"tasks.{KICKOFF}.deadline")

    response = api.launch(launch_body(tasks={KICKOFF: {"deadline": "2026-12-15 17:00:00"}}))
    assert response.status_code == 201, response.json()
    run = Run.objects.get(id=response.json()["data"]["id"])
    assert run.tasks.get(step_id=KICKOFF).deadline == "2026-12-15 17:00:00"
    assert "Due 2026-12-15 17:00 UTC" in run_page(api, run.id)


def test_a_task_update_checks_its_deadline_format_too(api):
    run_id = api.launch().json()["data"]["id"]
    task = api.get(f"/organizations/{ACME}/runs/{run_id}/tasks").json()["data"][0]
    path = f"/organizations/{ACME}/runs/{run_id}/tasks/{task['id']}"
    response = api.put(path, {"deadline": "15/12/2026"})
    assert response.status_code == 422
    assert "YYYY-MM-DDTHH:MM:SS.000Z" in response.json()["errors"]["deadline"][0]
    assert api.put(path, {"deadline": "2026-12-15T17:00:00.000Z"}).status_code == 200
