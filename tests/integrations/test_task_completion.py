"""Completing a Tallyfy task from a submission (respx at the HTTP boundary): which run, the
task read before any write, each field saved, the completion — exactly once."""

import json

import pytest
import respx
from django.utils import timezone

from integrations import contract
from integrations import delivery as service
from integrations.models import (
    Delivery,
    DeliveryCall,
    FieldMapping,
    Mapping,
    MappingVersion,
)
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")

ORG = f"/api/organizations/{pf.ACME_ID}"
STEP = "5" * 32
NOTES = "c" * 32
EMAIL_FIELD = pf.triage_field_id("requester_email")
CAPTURES = [
    {"id": NOTES, "label": "Resolution notes", "field_type": "textarea", "required": True},
]


@pytest.fixture(autouse=True)
def tallyfy_urls(settings):
    settings.TALLYFY_API_BASE_URL = "https://tallyfy.test/api"
    settings.TALLYFY_APP_BASE_URL = "https://app.tallyfy.test"


def task_mapping(*, run_match: dict, approval: dict | None = None, tally=None, tallyfy=None):
    """Support intake → the "Resolve" step of Support ticket triage: the problem text
    becomes the resolution notes."""
    mapping = Mapping.objects.create(
        name="Resolve from the form",
        kind=Mapping.Kind.COMPLETE_TASK,
        tally_connection=tally or pf.tally_connection(),
        form_id=pf.SUPPORT_FORM_ID,
        form_name="Support intake",
        tallyfy_connection=tallyfy or pf.tallyfy_connection(),
        template_id=pf.SUPPORT_TRIAGE_ID,
        template_name="Support ticket triage",
        step_id=STEP,
        step_name="Resolve",
        status=Mapping.Status.ENABLED,
    )
    version = MappingVersion.objects.create(
        mapping=mapping,
        number=1,
        name_template="",
        template_fields=CAPTURES,
        form_questions=pf.SUPPORT_QUESTIONS,
        run_match=run_match,
        approval=approval or {},
    )
    FieldMapping.objects.create(
        version=version,
        target_field_id=NOTES,
        target_label="Resolution notes",
        target_type="textarea",
        target_required=True,
        source=FieldMapping.Source.FIELD,
        source_key="question_Nb8yAh",
    )
    mapping.current_version = version
    mapping.save(update_fields=["current_version"])
    return mapping


BY_EMAIL = {
    "how": "field",
    "field_id": EMAIL_FIELD,
    "field_label": "Requester email",
    "source_key": "question_Ky5vXe",
    "pick": "only",
}


def run(run_id, email="ria@example.com", *, status="active"):
    return {
        "id": run_id,
        "name": f"Ticket {run_id}",
        "status": status,
        "checklist_id": pf.SUPPORT_TRIAGE_ID,
        "prerun": {EMAIL_FIELD: email},
        "created_at": timezone.now().isoformat(),
    }


def task(task_id="task-1", *, status="active", task_type="task"):
    return {
        "id": task_id,
        "run_id": "run-1",
        "step_id": STEP,
        "title": "Resolve",
        "status": status,
        "task_type": task_type,
    }


@pytest.fixture
def tallyfy():
    with respx.mock(base_url="https://tallyfy.test", assert_all_called=False) as router:
        router.get(f"{ORG}/runs", name="runs").respond(200, json={"data": [run("run-1")]})
        router.get(f"{ORG}/runs/run-1/tasks", name="tasks").respond(200, json={"data": [task()]})
        router.post(f"{ORG}/tasks/task-1/captures", name="captures").respond(
            201, json={"data": {"id": NOTES, "value": "x"}}
        )
        router.put(f"{ORG}/runs/run-1/tasks/task-1", name="taskdata").respond(
            200, json={"data": task()}
        )
        router.post(f"{ORG}/runs/run-1/completed-tasks", name="complete").respond(
            201, json={"data": task(status="completed")}
        )
        yield router


def complete(mapping, *, problem="Fixed by restarting", category=pf.CATEGORY_BUG) -> Delivery:
    fields = pf.support_fields(problem=problem)
    fields[1]["value"] = [category]
    [delivery] = pf.ingest(mapping, pf.envelope(form_id=mapping.form_id, fields=fields))
    service.delivery_process(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def sent(route) -> dict:
    return json.loads(route.calls.last.request.content)


def test_the_matched_runs_task_gets_its_field_and_is_completed(db, operator, tallyfy):
    delivery = complete(task_mapping(run_match=BY_EMAIL))

    assert delivery.status == Delivery.Status.SUCCEEDED, delivery.last_error
    assert (delivery.run_id, delivery.task_id) == ("run-1", "task-1")
    assert sent(tallyfy.routes["captures"]) == {"id": NOTES, "value": "Fixed by restarting"}
    assert sent(tallyfy.routes["complete"]) == {"task_id": "task-1"}
    calls = list(DeliveryCall.objects.filter(attempt__delivery=delivery).order_by("number"))
    assert [c.label for c in calls] == [
        "Find open runs of “Support ticket triage”",
        "Read the run's tasks",
        "Save “Resolution notes”",
        "Complete “Resolve”",
    ]
    assert calls[2].request_body == {"id": NOTES, "value": "Fixed by restarting"}
    assert calls[3].response_status == 201


def test_a_task_already_complete_is_adopted_never_completed_twice(db, operator, tallyfy):
    tallyfy.routes["tasks"].respond(200, json={"data": [task(status="completed")]})

    delivery = complete(task_mapping(run_match=BY_EMAIL))

    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts.get().outcome == "already_complete"
    assert "answers were not written" in delivery.last_error
    assert not tallyfy.routes["captures"].called
    assert not tallyfy.routes["complete"].called


def test_no_matching_run_fails_with_what_was_looked_for(db, operator, tallyfy):
    tallyfy.routes["runs"].respond(200, json={"data": [run("run-9", "other@example.com")]})

    delivery = complete(task_mapping(run_match=BY_EMAIL))

    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error == (
        "No open run of “Support ticket triage” has Requester email = “ria@example.com”."
    )


def test_several_matching_runs_fail_listing_them_unless_the_newest_is_taken(db, operator, tallyfy):
    tallyfy.routes["runs"].respond(200, json={"data": [run("run-1"), run("run-2")]})

    failed = complete(task_mapping(run_match=BY_EMAIL))

    assert failed.status == Delivery.Status.FAILED
    assert "2 open runs have Requester email = “ria@example.com”" in failed.last_error
    assert "“Ticket run-1” (run-1)" in failed.last_error
    assert "“Ticket run-2” (run-2)" in failed.last_error

    newest = task_mapping(
        run_match={**BY_EMAIL, "pick": "newest"},
        tally=failed.mapping.tally_connection,
        tallyfy=failed.mapping.tallyfy_connection,
    )
    Mapping.objects.filter(pk=failed.mapping_id).update(status=Mapping.Status.DISABLED)
    tallyfy.get(f"{ORG}/runs/run-2/tasks").respond(200, json={"data": [task("task-2")]})
    tallyfy.post(f"{ORG}/tasks/task-2/captures").respond(201, json={"data": {}})
    tallyfy.post(f"{ORG}/runs/run-2/completed-tasks").respond(201, json={"data": {}})
    done = complete(newest, problem="Second")
    assert done.status == Delivery.Status.SUCCEEDED, done.last_error
    assert done.run_id == "run-2"  # created last


def test_where_the_captures_call_does_not_exist_the_values_go_by_taskdata(db, operator, tallyfy):
    tallyfy.routes["captures"].respond(404, json={"message": "Endpoint not found."})
    mapping = task_mapping(run_match=BY_EMAIL)

    delivery = complete(mapping)

    assert delivery.status == Delivery.Status.SUCCEEDED, delivery.last_error
    assert sent(tallyfy.routes["taskdata"]) == {"taskdata": {NOTES: "Fixed by restarting"}}
    connection = mapping.tallyfy_connection
    assert contract.task_values_way(connection) == "taskdata"
    assert contract.check_state(connection, contract.TASK_VALUES) == "failed"
    # The next submission goes straight to taskdata.
    tallyfy.routes["tasks"].respond(200, json={"data": [task()]})
    before = tallyfy.routes["captures"].call_count
    complete(mapping, problem="Again")
    assert tallyfy.routes["captures"].call_count == before


def test_tallyfys_422_for_empty_required_fields_names_them(db, operator, tallyfy):
    tallyfy.routes["complete"].respond(
        422, json={"message": "Invalid", "errors": {NOTES: ["Resolution notes is required"]}}
    )

    delivery = complete(task_mapping(run_match=BY_EMAIL))

    assert delivery.status == Delivery.Status.FAILED
    assert "Resolution notes is required" in delivery.last_error


def test_a_completion_lost_to_a_503_is_found_done_on_the_next_try(db, operator, tallyfy):
    tallyfy.routes["complete"].respond(503, json={"message": "Down"})
    delivery = complete(task_mapping(run_match=BY_EMAIL))
    assert delivery.status == Delivery.Status.RETRYING

    # Meanwhile the completion had gone through after all.
    tallyfy.routes["tasks"].respond(200, json={"data": [task(status="completed")]})
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    service.delivery_process(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts.order_by("-number").first().outcome == "already_complete"
    assert tallyfy.routes["complete"].call_count == 1


APPROVE_BUGS = {"source_key": "question_Lz6wYf", "approve": ["Bug"], "reject": ["Billing"]}


def test_an_approval_step_is_completed_with_the_decision_the_answer_means(db, operator, tallyfy):
    tallyfy.routes["tasks"].respond(200, json={"data": [task(task_type="approval")]})

    delivery = complete(task_mapping(run_match=BY_EMAIL, approval=APPROVE_BUGS))

    assert delivery.status == Delivery.Status.SUCCEEDED, delivery.last_error
    assert sent(tallyfy.routes["complete"]) == {"task_id": "task-1", "is_approved": True}


def test_an_answer_that_neither_approves_nor_rejects_is_a_problem_not_a_guess(
    db, operator, tallyfy
):
    tallyfy.routes["tasks"].respond(200, json={"data": [task(task_type="approval")]})
    question = "9ef3c2e3-afb0-4b78-8d9e-afb0c1d2e3fa"

    delivery = complete(task_mapping(run_match=BY_EMAIL, approval=APPROVE_BUGS), category=question)

    assert delivery.status == Delivery.Status.FAILED
    assert "“Question”" in delivery.last_error and "neither" in delivery.last_error
    assert not tallyfy.routes["complete"].called
    assert not tallyfy.routes["captures"].called


def test_the_follow_up_reference_finds_the_run_its_launch_made(db, operator, tallyfy):
    tally, tallyfy_conn = pf.tally_connection(), pf.tallyfy_connection()
    launch = pf.support_mapping(tally=tally, tallyfy=tallyfy_conn, form_id="other1")
    [launched] = pf.ingest(launch, pf.envelope(form_id="other1"))
    Delivery.objects.filter(pk=launched.pk).update(status=Delivery.Status.SUCCEEDED, run_id="run-1")
    mapping = task_mapping(
        run_match={"how": "hidden", "ref_key": "question_Nb8yAh"}, tally=tally, tallyfy=tallyfy_conn
    )

    delivery = complete(mapping, problem=f"Kickoff reference: {launched.marker}")

    assert delivery.status == Delivery.Status.SUCCEEDED, delivery.last_error
    assert delivery.run_id == "run-1"
    assert not tallyfy.routes["runs"].called  # no search: the reference names the run


def test_a_task_field_can_carry_the_next_steps_follow_up_link_for_this_run(
    db, operator, tallyfy, settings
):
    settings.TALLY_FORMS_BASE_URL = "https://forms.test/r"
    mapping = task_mapping(run_match=BY_EMAIL)
    MappingVersion.objects.filter(pk=mapping.current_version_id).update(followup_form_id="Nx9Form")
    FieldMapping.objects.filter(version_id=mapping.current_version_id).update(
        source=FieldMapping.Source.TEMPLATE, source_key="", template="Next: {followup_link}"
    )

    delivery = complete(mapping)

    assert delivery.status == Delivery.Status.SUCCEEDED, delivery.last_error
    assert sent(tallyfy.routes["captures"]) == {
        "id": NOTES,
        "value": "Next: https://forms.test/r/Nx9Form?run_id=run-1",
    }
