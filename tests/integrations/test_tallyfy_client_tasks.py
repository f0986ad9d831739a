"""TallyfyClient's task calls (completing tasks from follow-up forms), faked with respx:
reading a task's type, owners and rules, saving captures, and each refusal Tallyfy sends."""

import json

import httpx
import pytest
import respx

from integrations.http import Forbidden, Invalid, NotFound, OutcomeUnknown, RateLimited
from integrations.ratelimit import NoThrottle
from integrations.tallyfy.client import TallyfyClient, parse_task, unsupported_call

BASE = "https://go.tallyfy.test/api"
ORG = "org 1/x"  # a slash and a space: every path segment must be encoded
ORG_PATH = "/api/organizations/org%201%2Fx"
CAPTURE = "c" * 32


@pytest.fixture
def tallyfy():
    return TallyfyClient("tok-123456", org_id=ORG, base_url=BASE, throttle=NoThrottle())


@pytest.fixture
def router():
    with respx.mock(base_url="https://go.tallyfy.test", assert_all_called=False) as mock:
        yield mock


def approval_task(**extra):
    return {
        "id": "t1",
        "title": "Client sign-off",
        "status": "not-started",
        "task_type": "approval",
        "position": 6,
        "owners": {"users": [40001], "guests": [], "groups": ["g1"]},
        "can_complete_only_assignees": True,
        "form_fields": [
            {"id": CAPTURE, "label": "Sign-off notes", "field_type": "textarea", "required": True}
        ],
        **extra,
    }


# --- reading tasks ----------------------------------------------------------------------


def test_it_reads_one_task_with_its_type_owners_and_completion_rule(tallyfy, router):
    route = router.get(f"{ORG_PATH}/runs/run%2F1/tasks/t%201").respond(
        200, json={"data": approval_task()}
    )
    task = tallyfy.get_task("run/1", "t 1")
    assert route.calls.last.request.url.params["with"] == "form_fields"
    assert (task.task_type, task.is_approval, task.is_completed) == ("approval", True, False)
    assert task.owners == {"users": [40001], "guests": [], "groups": ["g1"]}
    assert task.can_complete_only_assignees is True
    assert task.position == 6
    assert task.form_fields[0].required and task.form_fields[0].id == CAPTURE


def test_a_task_without_the_new_keys_reads_as_a_plain_task_anyone_may_complete():
    task = parse_task({"id": "t1", "status": "completed", "owners": "nobody", "position": "x"})
    assert (task.task_type, task.is_approval, task.is_completed) == ("task", False, True)
    assert task.owners == {"users": [], "guests": [], "groups": []}
    assert task.can_complete_only_assignees is False
    assert task.position is None


@pytest.mark.parametrize(
    ("status", "done"),
    [
        ("completed", True),
        ("complete", True),
        ("Completed", True),
        ("active", False),
        (None, False),
    ],
)
def test_it_reads_completed_and_complete_as_done(status, done):
    assert parse_task({"id": "t1", "status": status}).is_completed is done


def test_a_task_answer_without_an_id_is_an_unknown_outcome(tallyfy, router):
    router.get(f"{ORG_PATH}/runs/r1/tasks/t1").respond(200, json={"data": {"title": "x"}})
    with pytest.raises(OutcomeUnknown):
        tallyfy.get_task("r1", "t1")


# --- saving captures ----------------------------------------------------------------------


def test_it_saves_one_capture_by_its_id_and_answers_the_saved_capture(tallyfy, router):
    route = router.post(f"{ORG_PATH}/tasks/t%2F1/captures").respond(
        201, json={"data": {"id": CAPTURE, "value": "All good"}}
    )
    saved = tallyfy.save_capture("t/1", CAPTURE, "All good")
    assert json.loads(route.calls.last.request.content) == {"id": CAPTURE, "value": "All good"}
    assert saved == {"id": CAPTURE, "value": "All good"}


def test_an_empty_answer_to_a_capture_is_none(tallyfy, router):
    router.post(f"{ORG_PATH}/tasks/t1/captures").respond(204)
    assert tallyfy.save_capture("t1", CAPTURE, {"id": 3, "text": "Yes"}) is None


def test_a_refused_capture_value_raises_invalid_naming_the_field(tallyfy, router):
    router.post(f"{ORG_PATH}/tasks/t1/captures").respond(
        422, json={"message": "The value is invalid.", "errors": {"value": ["Too long."]}}
    )
    with pytest.raises(Invalid) as caught:
        tallyfy.save_capture("t1", CAPTURE, "x")
    assert caught.value.field_errors == {"value": ["Too long."]}
    assert not unsupported_call(caught.value)


def test_a_throttled_capture_raises_rate_limited_with_retry_after(tallyfy, router):
    router.post(f"{ORG_PATH}/tasks/t1/captures").respond(
        429, json={"message": "Too Many Attempts."}, headers={"Retry-After": "7"}
    )
    with pytest.raises(RateLimited) as caught:
        tallyfy.save_capture("t1", CAPTURE, "x")
    assert caught.value.retry_after == 7


def test_a_capture_that_got_no_answer_may_have_been_saved(tallyfy, router):
    router.post(f"{ORG_PATH}/tasks/t1/captures").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        tallyfy.save_capture("t1", CAPTURE, "x")


# --- which refusals mean "this call does not exist" ---------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "unsupported"),
    [
        (404, {"message": "endpoint not found"}, True),
        (404, {"message": "The route api/organizations/x/tasks/t1 could not be found."}, True),
        (405, {"message": "The POST method is not supported for this route."}, True),
        (404, {"message": "Task not found."}, False),
        (422, {"message": "The selected id is invalid."}, False),
    ],
)
def test_only_a_missing_endpoint_counts_as_an_unsupported_call(
    tallyfy, router, status, body, unsupported
):
    router.post(f"{ORG_PATH}/tasks/t1/captures").respond(status, json=body)
    with pytest.raises(Exception) as caught:
        tallyfy.save_capture("t1", CAPTURE, "x")
    assert unsupported_call(caught.value) is unsupported


# --- completing ---------------------------------------------------------------------------


def test_it_sends_a_rejection_as_is_approved_false(tallyfy, router):
    route = router.post(f"{ORG_PATH}/runs/r1/completed-tasks").respond(
        201, json={"data": approval_task(status="completed", is_approved=False)}
    )
    task = tallyfy.complete_task("r1", "t1", is_approved=False)
    assert json.loads(route.calls.last.request.content) == {"task_id": "t1", "is_approved": False}
    assert task is not None and task.is_completed


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (403, {"message": "Only an assignee can complete this task."}, Forbidden),
        (404, {"message": "Task not found."}, NotFound),
        (422, {"message": "x", "errors": {"task_id": ["already been completed"]}}, Invalid),
    ],
)
def test_each_completion_refusal_has_its_named_error(tallyfy, router, status, body, error):
    router.post(f"{ORG_PATH}/runs/r1/completed-tasks").respond(status, json=body)
    with pytest.raises(error) as caught:
        tallyfy.complete_task("r1", "t1", is_approved=True)
    assert caught.value.status == status and not caught.value.retryable
