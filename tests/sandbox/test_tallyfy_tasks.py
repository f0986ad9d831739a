# ruff: noqa: F811
# (F811: pytest fixtures imported from the support module)
"""Sandbox Tallyfy: completing tasks from a follow-up form. Saving task form fields by the
captures call (or PUT taskdata, per the task_values switch), approvals, steps only their
assignees may complete, and the run page that shows who completed what."""

import httpx
import pytest

from integrations.sandbox.tallyfy import seed as demo
from integrations.sandbox.tallyfy import switches
from integrations.sandbox.tallyfy.models import Task
from tests.sandbox.test_tallyfy_support import (  # noqa: F401 (fixtures)
    ACME,
    api,
    headers,
    launch_body,
    seeded,
)

SITE_VISIT = demo.step_id("client-onboarding", "Site visit")
VISIT_REPORT = demo.capture_id("client-onboarding", "visit_report")
SIGNOFF_NOTES = demo.capture_id("client-onboarding", "signoff_notes")
GO_LIVE = demo.capture_id("client-onboarding", "go_live_date")
ACCOUNT_URL = demo.capture_id("client-onboarding", "account_url")


def launched(api, **overrides) -> dict[str, dict]:
    """Launch Client onboarding; its tasks by title, with their form fields."""
    run_id = api.launch(launch_body(**overrides)).json()["data"]["id"]
    tasks = api.get(f"/organizations/{ACME}/runs/{run_id}/tasks", **{"with": "form_fields"})
    return {t["title"]: t for t in tasks.json()["data"]}


def capture(api, task_id: str, capture_id, value, token=demo.DEMO_TOKEN):
    return api.post(
        f"/organizations/{ACME}/tasks/{task_id}/captures", {"id": capture_id, "value": value}, token
    )


def complete(api, task: dict, **extra):
    return api.post(
        f"/organizations/{ACME}/runs/{task['run_id']}/completed-tasks",
        {"task_id": task["id"], **extra},
    )


def values_of(api, task: dict) -> dict:
    url = f"/organizations/{ACME}/runs/{task['run_id']}/tasks/{task['id']}"
    data = api.get(url, **{"with": "form_fields"}).json()["data"]
    return {f["label"]: f["value"] for f in data["form_fields"]}


# --- Tasks say what they are ----------------------------------------------------------------


def test_tasks_carry_their_steps_type_and_completion_rule(api):
    tasks = launched(api)
    signoff, visit = tasks["Client sign-off"], tasks["Site visit"]
    assert (signoff["task_type"], signoff["can_complete_only_assignees"]) == ("approval", False)
    assert (visit["task_type"], visit["can_complete_only_assignees"]) == ("task", True)
    assert tasks["Welcome call"]["task_type"] == "task"
    labels = [(f["label"], f["field_type"], f["required"]) for f in signoff["form_fields"]]
    assert labels == [("Sign-off notes", "textarea", True), ("Go-live date", "date", False)]


def test_one_task_is_read_with_its_form_values(api):
    task = launched(api)["Client sign-off"]
    url = f"/organizations/{ACME}/runs/{task['run_id']}/tasks/{task['id']}"
    assert api.get(url).json()["data"]["task_type"] == "approval"
    assert "form_fields" not in api.get(url).json()["data"]
    assert api.get(f"/organizations/{ACME}/runs/{task['run_id']}/tasks/nope").status_code == 404


# --- The captures call ----------------------------------------------------------------------


def test_a_capture_is_saved_by_its_id_and_shows_on_the_task(api):
    task = launched(api)["Client sign-off"]
    response = capture(api, task["id"], SIGNOFF_NOTES, "Ready to go")
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["id"], data["label"], data["value"]) == (
        SIGNOFF_NOTES,
        "Sign-off notes",
        "Ready to go",
    )
    date = capture(api, task["id"], GO_LIVE, "2026-05-01T00:00:00.000Z")
    assert date.status_code == 201
    assert values_of(api, task) == {
        "Sign-off notes": "Ready to go",
        "Go-live date": "2026-05-01T00:00:00.000Z",
    }


def test_saving_the_same_capture_again_is_harmless_and_a_new_value_replaces_it(api):
    task = launched(api)["Client sign-off"]
    assert capture(api, task["id"], SIGNOFF_NOTES, "v1").status_code == 201
    assert capture(api, task["id"], SIGNOFF_NOTES, "v1").status_code == 200
    assert capture(api, task["id"], SIGNOFF_NOTES, "v2").status_code == 200
    assert values_of(api, task)["Sign-off notes"] == "v2"


def test_an_unknown_task_answers_404(api):
    response = capture(api, "0" * 32, SIGNOFF_NOTES, "x")
    assert response.status_code == 404
    assert response.json()["message"] == "Task not found."


@pytest.mark.parametrize("capture_id", [ACCOUNT_URL, "nope", None, 12])
def test_an_id_that_is_not_a_field_of_the_tasks_step_answers_422_naming_id(api, capture_id):
    task = launched(api)["Client sign-off"]
    response = capture(api, task["id"], capture_id, "x")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["id"]
    assert values_of(api, task) == {"Sign-off notes": None, "Go-live date": None}


@pytest.mark.parametrize(
    ("capture_id", "value", "words"),
    [
        (GO_LIVE, "2026-05-01", "date"),
        (SIGNOFF_NOTES, ["not", "text"], "must be a string"),
        (SIGNOFF_NOTES, "x" * 30_001, "30000"),
    ],
)
def test_a_value_is_checked_like_a_kick_off_value(api, capture_id, value, words):
    task = launched(api)["Client sign-off"]
    response = capture(api, task["id"], capture_id, value)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert list(errors) == ["value"]
    assert words in errors["value"][0].replace(",", "")


def test_a_capture_without_a_value_answers_422(api):
    task = launched(api)["Client sign-off"]
    response = api.post(f"/organizations/{ACME}/tasks/{task['id']}/captures", {"id": GO_LIVE})
    assert response.status_code == 422 and "value" in response.json()["errors"]


def test_a_completed_task_takes_no_more_captures(api):
    task = launched(api)["Client sign-off"]
    capture(api, task["id"], SIGNOFF_NOTES, "Ready")
    assert complete(api, task, is_approved=True).status_code == 201
    response = capture(api, task["id"], SIGNOFF_NOTES, "Changed my mind")
    assert response.status_code == 422
    assert "already been completed" in response.json()["message"]
    assert values_of(api, task)["Sign-off notes"] == "Ready"


# --- The task_values switch -------------------------------------------------------------------


def put_taskdata(api, task, values):
    url = f"/organizations/{ACME}/runs/{task['run_id']}/tasks/{task['id']}"
    return api.put(url, {"taskdata": values})


def test_both_ways_save_values_by_default(api):
    task = launched(api)["Client sign-off"]
    assert capture(api, task["id"], SIGNOFF_NOTES, "by captures").status_code == 201
    assert put_taskdata(api, task, {GO_LIVE: "2026-05-01T00:00:00.000Z"}).status_code == 200
    assert values_of(api, task) == {
        "Sign-off notes": "by captures",
        "Go-live date": "2026-05-01T00:00:00.000Z",
    }


def test_captures_only_answers_put_taskdata_with_endpoint_not_found(api):
    switches.flip("task_values", "captures_only")
    task = launched(api)["Client sign-off"]
    refused = put_taskdata(api, task, {SIGNOFF_NOTES: "by taskdata"})
    assert refused.status_code == 404
    assert refused.json()["message"] == "endpoint not found"
    assert capture(api, task["id"], SIGNOFF_NOTES, "by captures").status_code == 201
    assert values_of(api, task)["Sign-off notes"] == "by captures"


def test_taskdata_only_answers_the_captures_call_with_endpoint_not_found(api):
    switches.flip("task_values", "taskdata_only")
    task = launched(api)["Client sign-off"]
    refused = capture(api, task["id"], SIGNOFF_NOTES, "by captures")
    assert refused.status_code == 404
    assert refused.json()["message"] == "endpoint not found"
    assert put_taskdata(api, task, {SIGNOFF_NOTES: "by taskdata"}).status_code == 200
    assert values_of(api, task)["Sign-off notes"] == "by taskdata"


# --- Completing: approvals and assignees --------------------------------------------------------


def test_an_approval_without_is_approved_is_refused(api):
    task = launched(api)["Client sign-off"]
    capture(api, task["id"], SIGNOFF_NOTES, "Ready")
    response = complete(api, task)
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "is_approved": ["The is approved field is required for an approval task."]
    }
    assert Task.objects.get(id=task["id"]).status != "completed"


def test_an_approval_needs_its_required_fields_before_its_decision(api):
    task = launched(api)["Client sign-off"]
    response = complete(api, task, is_approved=True)
    assert response.status_code == 422
    assert response.json()["errors"] == {SIGNOFF_NOTES: ["Sign-off notes is required"]}


@pytest.mark.parametrize("decision", [True, False])
def test_an_approval_stores_its_decision_and_who_completed_it(api, decision):
    task = launched(api)["Client sign-off"]
    capture(api, task["id"], SIGNOFF_NOTES, "Looked at it")
    response = complete(api, task, is_approved=decision)
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["status"], data["is_approved"], data["completed_by"]) == (
        "completed",
        decision,
        demo.DEMO_USER_ID,
    )


def test_a_plain_task_keeps_no_decision(api):
    task = launched(api)["Welcome call"]
    assert complete(api, task, is_approved=False).json()["data"]["is_approved"] is None


def test_only_an_assignee_completes_a_step_that_says_so(api):
    tasks = launched(api, tasks={SITE_VISIT: {"owners": {"users": [40002]}}})
    visit = tasks["Site visit"]
    capture(api, visit["id"], VISIT_REPORT, "All fine on site")
    refused = complete(api, visit)
    assert refused.status_code == 403
    assert refused.json()["message"] == "Only an assignee can complete this task."
    assert Task.objects.get(id=visit["id"]).status != "completed"


def test_a_member_of_an_assigned_group_is_an_assignee(api):
    team = demo.group_id(ACME, "onboarding-team")  # Dana (the demo token's user) is in it
    tasks = launched(api, tasks={SITE_VISIT: {"owners": {"users": [40003], "groups": [team]}}})
    visit = tasks["Site visit"]
    capture(api, visit["id"], VISIT_REPORT, "All fine on site")
    assert complete(api, visit).status_code == 201


def test_the_launcher_owns_the_site_visit_by_default_so_may_complete_it(api):
    visit = launched(api)["Site visit"]
    assert complete(api, visit).json()["errors"] == {VISIT_REPORT: ["Visit report is required"]}
    capture(api, visit["id"], VISIT_REPORT, "Done")
    assert complete(api, visit).status_code == 201


def test_anyone_completes_a_step_that_does_not_restrict_it(api):
    tasks = launched(
        api,
        tasks={
            demo.step_id("client-onboarding", "Kickoff meeting"): {"owners": {"users": [40002]}}
        },
    )
    assert complete(api, tasks["Kickoff meeting"]).status_code == 201


# --- The run page -------------------------------------------------------------------------------


def test_the_run_page_shows_each_tasks_status_values_decision_and_who_completed_it(api, client):
    tasks = launched(api)
    signoff, visit = tasks["Client sign-off"], tasks["Site visit"]
    capture(api, signoff["id"], SIGNOFF_NOTES, "Signed off\nby the client")
    capture(api, signoff["id"], GO_LIVE, "2026-05-01T00:00:00.000Z")
    complete(api, signoff, is_approved=False)
    url = f"/sandbox/tallyfy/app/{ACME}/processes/{signoff['run_id']}"
    html = client.get(url).content.decode()
    assert "Rejected" in html and "Approved" not in html
    assert "Signed off<br>by the client" in html
    assert "1 May 2026, 00:00 UTC" in html
    assert "by Dana Demo" in html
    assert "Only assignees can complete" in html
    capture(api, visit["id"], VISIT_REPORT, "Visited")
    complete(api, visit)
    html = client.get(url).content.decode()
    assert html.count("by Dana Demo") == 2


# --- Faults reach the task writes, over real HTTP --------------------------------------------


@pytest.fixture
def http(live_server):
    demo.seed()
    with httpx.Client(base_url=f"{live_server.url}/sandbox/tallyfy", timeout=10) as client:
        yield client


def live_task(http, title: str) -> dict:
    run = http.post(f"/api/organizations/{ACME}/runs", json=launch_body(), headers=headers())
    run_id = run.json()["data"]["id"]
    listed = http.get(
        f"/api/organizations/{ACME}/runs/{run_id}/tasks",
        params={"with": "form_fields"},
        headers=headers(),
    )
    return next(t for t in listed.json()["data"] if t["title"] == title)


def live_capture(http, task, value="Ready"):
    return http.post(
        f"/api/organizations/{ACME}/tasks/{task['id']}/captures",
        json={"id": SIGNOFF_NOTES, "value": value},
        headers=headers(),
    )


def live_fault(http, **body):
    assert http.post("/control/faults", json=body).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_tasks_fault_fails_the_captures_call_then_it_recovers(http):
    task = live_task(http, "Client sign-off")
    live_fault(http, kind="500", scope="tasks")
    assert live_capture(http, task).status_code == 500
    assert live_capture(http, task).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_launch_fault_leaves_the_task_calls_alone(http):
    task = live_task(http, "Client sign-off")
    live_fault(http, kind="500", scope="launch")
    assert live_capture(http, task).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_throttled_completion_says_when_to_retry(http):
    task = live_task(http, "Welcome call")
    live_fault(http, kind="429", scope="tasks", retry_after=9)
    done = f"/api/organizations/{ACME}/runs/{task['run_id']}/completed-tasks"
    limited = http.post(done, json={"task_id": task["id"]}, headers=headers())
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "9")
    assert http.post(done, json={"task_id": task["id"]}, headers=headers()).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_dropped_captures_call_has_still_saved_the_value(http):
    task = live_task(http, "Client sign-off")
    live_fault(http, kind="drop", scope="tasks")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        live_capture(http, task, "Saved before the drop")
    assert Task.objects.get(id=task["id"]).taskdata[SIGNOFF_NOTES] == "Saved before the drop"
    assert live_capture(http, task, "Saved before the drop").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_hung_completion_completes_the_task_for_a_caller_that_gave_up(http):
    task = live_task(http, "Welcome call")
    live_fault(http, kind="hang", scope="tasks", hang_seconds=0.6)
    done = f"/api/organizations/{ACME}/runs/{task['run_id']}/completed-tasks"
    with pytest.raises(httpx.ReadTimeout):
        http.post(done, json={"task_id": task["id"]}, headers=headers(), timeout=0.2)
    again = None
    for _ in range(100):  # the server finishes the hang and completes it (to nobody)
        again = http.post(done, json={"task_id": task["id"]}, headers=headers())
        if again.status_code == 422:
            break
    assert again is not None and "already been completed" in again.json()["message"]
