# ruff: noqa: F811
# (F811: pytest fixtures imported from the support module; RUF001: deliberate en dashes)
"""Sandbox Tallyfy REST API: headers, tokens, organizations, templates, runs and tasks."""

import pytest

from integrations.sandbox.tallyfy import services
from integrations.sandbox.tallyfy.models import User
from tests.sandbox.test_tallyfy_support import (  # noqa: F401 (fixtures)
    ACME,
    API,
    BETA,
    CONTROL,
    ONBOARDING,
    TRIAGE,
    api,
    f,
    headers,
    launch_body,
    seeded,
)


def oauth_token() -> str:
    access, _ = services.oauth_issue(user=User.objects.get(id=40001), client_id="1001", scope="")
    return access.token


# --- Headers and tokens ---------------------------------------------------------------------


def test_it_answers_401_without_the_x_tallyfy_client_header(client, seeded):
    response = client.get(f"{API}/me", headers=headers(client=False))
    assert response.status_code == 401
    assert "X-Tallyfy-Client" in response.json()["message"]


def test_it_answers_401_without_a_bearer_token(api):
    response = api.get("/me", token=None)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


def test_it_answers_401_for_an_unknown_token(api):
    assert api.get("/me", token="nope").status_code == 401


def test_it_accepts_the_personal_access_token_on_its_organization(api):
    me = api.get("/me").json()["data"]
    assert me["id"] == 40001
    assert me["email"] == "dana.demo@acme.example"
    assert api.get(f"/organizations/{ACME}/checklists").status_code == 200


def test_it_refuses_the_personal_access_token_on_another_organization(api):
    assert api.get(f"/organizations/{BETA}/checklists").status_code == 403


def test_it_answers_404_for_an_unknown_organization(api):
    assert api.get("/organizations/nope/checklists").status_code == 404


def test_it_lets_an_oauth_token_reach_every_organization_of_its_user(api):
    token = oauth_token()
    assert api.get(f"/organizations/{ACME}/checklists", token=token).status_code == 200
    assert api.get(f"/organizations/{BETA}/checklists", token=token).status_code == 200


def test_it_lists_both_organizations_for_oauth_and_one_for_the_personal_token(api):
    body = api.get("/me/organizations", token=oauth_token()).json()
    assert [o["name"] for o in body["data"]] == ["Acme Operations", "Beta Studio"]
    assert body["meta"]["pagination"]["total"] == 2
    assert [o["id"] for o in api.get("/me/organizations").json()["data"]] == [ACME]


def test_it_refuses_expired_oauth_tokens_but_keeps_the_personal_token(api, client):
    token = oauth_token()
    assert client.post(f"{CONTROL}/tokens/expire").json()["expired"] == 1
    response = api.get("/me", token=token)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert api.get("/me").status_code == 200


def test_it_refuses_every_token_after_revocation(api, client):
    token = oauth_token()
    client.post(f"{CONTROL}/tokens/revoke")
    assert api.get("/me", token=token).status_code == 401
    assert api.get("/me").status_code == 401


def test_it_restores_the_demo_token_on_reset(api, client):
    client.post(f"{CONTROL}/tokens/revoke")
    client.post(f"{CONTROL}/reset")
    assert api.get("/me").status_code == 200


# --- Templates ---------------------------------------------------------------------------------


def test_it_pages_checklists_with_tallyfy_pagination_meta(api):
    first = api.get(f"/organizations/{ACME}/checklists", per_page=10).json()
    pagination = first["meta"]["pagination"]
    assert pagination["total"] == 27
    assert pagination["total_pages"] == 3
    assert pagination["count"] == 10
    assert pagination["current_page"] == 1
    seen = []
    for page in (1, 2, 3):
        body = api.get(f"/organizations/{ACME}/checklists", per_page=10, page=page).json()
        seen += [c["id"] for c in body["data"]]
    assert len(set(seen)) == 27
    last = api.get(f"/organizations/{ACME}/checklists", per_page=10, page=3).json()
    assert last["meta"]["pagination"]["count"] == 7


def test_it_caps_per_page_at_100(api):
    body = api.get(f"/organizations/{ACME}/checklists", per_page=500).json()
    assert body["meta"]["pagination"]["per_page"] == 100
    assert len(body["data"]) == 27


def test_it_filters_checklists_by_q(api):
    body = api.get(f"/organizations/{ACME}/checklists", q="onboard").json()
    assert {c["title"] for c in body["data"]} == {
        "Client onboarding",
        "Employee onboarding",
        "Supplier onboarding",
    }


def test_it_describes_a_checklist_with_every_kick_off_field_type(api):
    data = api.get(f"/organizations/{ACME}/checklists/{ONBOARDING}").json()["data"]
    assert data["title"] == "Client onboarding"
    types = {p["field_type"] for p in data["prerun"]}
    assert types == {
        "text",
        "textarea",
        "email",
        "date",
        "radio",
        "dropdown",
        "multiselect",
        "table",
        "file",
        "assignees_form",
    }
    required = {p["alias"] for p in data["prerun"] if p["required"]}
    assert {"company_name", "contact_email", "start_date", "plan"} <= required
    for field in data["prerun"]:
        assert len(field["id"]) == 32
        assert set(field) >= {"id", "alias", "label", "field_type", "required", "position"}
        assert all(isinstance(o["id"], int) for o in field["options"])
    contacts = next(p for p in data["prerun"] if p["alias"] == "contacts")
    assert [c["label"] for c in contacts["columns"]] == ["Name", "Role", "Phone"]
    kinds = [(s["title"], s["task_type"], s["can_complete_only_assignees"]) for s in data["steps"]]
    assert kinds[-2:] == [("Site visit", "task", True), ("Client sign-off", "approval", False)]
    assert {k[1:] for k in kinds[:-2]} == {("task", False)}


def test_it_answers_404_for_a_checklist_of_another_organization(api):
    token = oauth_token()
    assert api.get(f"/organizations/{BETA}/checklists/{ONBOARDING}", token=token).status_code == 404


# --- Runs ---------------------------------------------------------------------------------------


def test_it_gets_a_launched_run(api):
    run = api.launch().json()["data"]
    got = api.get(f"/organizations/{ACME}/runs/{run['id']}")
    assert got.status_code == 200
    data = got.json()["data"]
    assert data["name"] == "Onboarding – Acme Ltd"
    assert data["prerun"][f("company_name")] == "Acme Ltd"
    assert data["status"] == "active"


def test_it_answers_404_for_an_unknown_run(api):
    assert api.get(f"/organizations/{ACME}/runs/{'0' * 32}").status_code == 404


def test_it_finds_runs_by_q_in_name_or_summary_and_by_checklist(api):
    api.launch(launch_body(name="Alpha onboarding", summary="kickoff-ref d-111"))
    api.launch(launch_body(name="Beta onboarding", summary="kickoff-ref d-222"))
    api.launch(
        {
            "checklist_id": TRIAGE,
            "name": "Ticket d-111",
            "prerun": {f("requester_email", "support-ticket-triage"): "a@b.co"},
        }
    )
    runs = f"/organizations/{ACME}/runs"
    by_summary = api.get(runs, q="d-222").json()["data"]
    assert [r["name"] for r in by_summary] == ["Beta onboarding"]
    by_both = api.get(runs, q="D-111", sort="-created_at").json()["data"]
    assert [r["name"] for r in by_both] == ["Ticket d-111", "Alpha onboarding"]
    scoped = api.get(runs, q="d-111", checklist_id=ONBOARDING).json()["data"]
    assert [r["name"] for r in scoped] == ["Alpha onboarding"]
    paged = api.get(runs, per_page=2).json()
    assert paged["meta"]["pagination"] == {
        "total": 3,
        "count": 2,
        "per_page": 2,
        "current_page": 1,
        "total_pages": 2,
        "links": {},
    }
    assert [r["name"] for r in paged["data"]] == ["Ticket d-111", "Beta onboarding"]


# --- Tasks --------------------------------------------------------------------------------------


@pytest.fixture
def run_id(api):
    return api.launch().json()["data"]["id"]


def tasks_of(api, run_id):
    return api.get(f"/organizations/{ACME}/runs/{run_id}/tasks", **{"with": "form_fields"}).json()[
        "data"
    ]


def test_it_creates_tasks_from_the_template_steps_with_form_fields(api, run_id):
    tasks = tasks_of(api, run_id)
    assert [t["title"] for t in tasks] == [
        "Welcome call",
        "Set up account",
        "Kickoff meeting",
        "Send welcome pack",
        "Site visit",
        "Client sign-off",
    ]
    setup = tasks[1]
    assert setup["status"] == "not-started"
    assert setup["form_fields"][0]["label"] == "Account URL"
    assert setup["form_fields"][0]["required"] is True
    assert setup["form_fields"][0]["value"] is None
    plain = api.get(f"/organizations/{ACME}/runs/{run_id}/tasks").json()["data"]
    assert "form_fields" not in plain[0]


def test_it_sets_task_values_and_replaces_owners(api, run_id):
    setup = tasks_of(api, run_id)[1]
    field = setup["form_fields"][0]["id"]
    url = f"/organizations/{ACME}/runs/{run_id}/tasks/{setup['id']}"
    response = api.put(
        url, {"taskdata": {field: "https://acme.example"}, "owners": {"users": [40003]}}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["taskdata"][field] == "https://acme.example"
    assert data["owners"] == {"users": [40003], "guests": [], "groups": []}


def test_it_refuses_a_bad_task_value(api, run_id):
    setup = tasks_of(api, run_id)[1]
    field = setup["form_fields"][0]["id"]
    url = f"/organizations/{ACME}/runs/{run_id}/tasks/{setup['id']}"
    response = api.put(url, {"taskdata": {field: ["not", "text"]}})
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_it_refuses_to_complete_a_task_whose_required_field_is_empty(api, run_id):
    setup = tasks_of(api, run_id)[1]
    response = api.post(
        f"/organizations/{ACME}/runs/{run_id}/completed-tasks", {"task_id": setup["id"]}
    )
    assert response.status_code == 422
    assert "Account URL is required" in response.json()["message"]


def test_it_completes_tasks_once_and_then_the_run(api, run_id):
    tasks = tasks_of(api, run_id)
    for task in tasks:  # Account URL, Visit report and Sign-off notes are required
        required = {f["id"]: "x" for f in task["form_fields"] if f["required"]}
        if required:
            url = f"/organizations/{ACME}/runs/{run_id}/tasks/{task['id']}"
            assert api.put(url, {"taskdata": required}).status_code == 200
    done = f"/organizations/{ACME}/runs/{run_id}/completed-tasks"
    for task in tasks:
        response = api.post(done, {"task_id": task["id"], "is_approved": True})
        assert response.status_code == 201, response.json()
        assert response.json()["data"]["status"] == "completed"
    again = api.post(done, {"task_id": tasks[0]["id"]})
    assert again.status_code == 422
    assert "already been completed" in again.json()["message"]
    run = api.get(f"/organizations/{ACME}/runs/{run_id}").json()["data"]
    assert run["status"] == "complete"
    assert run["progress"]["percent"] == 100


def test_it_refuses_to_complete_an_unknown_task(api, run_id):
    response = api.post(f"/organizations/{ACME}/runs/{run_id}/completed-tasks", {"task_id": "nope"})
    assert response.status_code == 422
