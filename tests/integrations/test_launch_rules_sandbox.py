"""Launch rules over real HTTP against the sandbox Tallyfy: the owner from an email answer,
a step's owners and deadline, tags from a choice; and the deadline format Tallyfy accepts is
found out live (its docs disagree) without losing the submission."""

import hashlib
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from integrations import contract, outbox
from integrations.mappings import mapping_enable
from integrations.models import Delivery, MappingVersion
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")

SAM = 40002  # sam.rivera@acme.example, a member of Acme Operations in the sandbox


def step_id(title: str) -> str:
    key = ":".join(("sandbox-tallyfy", "step", "support-ticket-triage", title))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


TRIAGE, RESOLVE = step_id("Triage"), step_id("Resolve")


@pytest.fixture
def sandbox(sandbox_seeded, live_kickoff, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    return live_kickoff


@pytest.fixture
def mapping(sandbox):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    MappingVersion.objects.filter(pk=mapping.current_version_id).update(
        template_steps=[
            {"id": TRIAGE, "title": "Triage", "position": 1},
            {"id": RESOLVE, "title": "Resolve", "position": 2},
        ],
        people=[
            {"target": "owner", "source": "email", "source_key": "question_Ky5vXe"},
            {
                "target": f"step:{RESOLVE}",
                "source": "constant",
                "constant": [{"kind": "user", "id": str(SAM), "label": "Sam Rivera"}],
            },
        ],
        deadlines=[{"step_id": RESOLVE, "source": "submitted", "offset_days": 2}],
        tag_rules=[{"source_key": "question_Lz6wYf", "option_map": {"Bug": ["bug-tag"]}}],
    )
    mapping_enable(mapping, actor=None)
    return mapping


def submit(base, email):
    httpx.post(
        f"{base}/sandbox/tally/control/forms/{pf.SUPPORT_FORM_ID}/submissions",
        json={
            "answers": {"Your email": email, "Category": "Bug", "Describe the problem": "Broken"},
            "deliver": True,
        },
        timeout=20,
    ).raise_for_status()


def the_run(base):
    data = httpx.get(f"{base}/sandbox/tallyfy/control/runs", timeout=20).json()["data"]
    [run] = [r for r in data if r["checklist_id"] == pf.SUPPORT_TRIAGE_ID]
    return run


def tasks_of(base, run_id):
    url = f"{base}/sandbox/tallyfy/api/organizations/{pf.ACME_ID}/runs/{run_id}/tasks"
    headers = {"Authorization": f"Bearer {pf.TALLYFY_TOKEN}", "X-Tallyfy-Client": "APIClient"}
    return {t["step_id"]: t for t in httpx.get(url, headers=headers, timeout=20).json()["data"]}


def test_the_run_gets_its_owner_step_owner_deadline_and_tags_from_the_answers(
    sandbox, mapping, task_queue
):
    submit(sandbox, "sam.rivera@acme.example")
    task_queue.drain()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SUCCEEDED, delivery.last_error
    run = the_run(sandbox)
    assert run["owner_id"] == SAM
    assert run["tags"] == ["bug-tag"]
    resolve = tasks_of(sandbox, run["id"])[RESOLVE]
    assert resolve["owners"]["users"] == [SAM]
    due = delivery.submission.submitted_at + timedelta(days=2)
    assert resolve["deadline"] == due.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    check = contract.check_get(mapping.tallyfy_connection, contract.DEADLINE_FORMAT)
    assert check.state == "verified"


def test_an_owner_email_that_is_no_member_fails_with_a_clear_message(sandbox, mapping, task_queue):
    submit(sandbox, "stranger@example.com")
    task_queue.drain()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "stranger@example.com" in delivery.last_error
    assert "member" in delivery.last_error


def test_when_tallyfy_refuses_iso_deadlines_the_next_try_sends_its_other_format(
    sandbox, mapping, task_queue
):
    httpx.post(
        f"{sandbox}/sandbox/tallyfy/control/switches", json={"deadline_format": "space"}
    ).raise_for_status()
    submit(sandbox, "sam.rivera@acme.example")
    task_queue.drain(include_delayed=False)

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.RETRYING
    assert "deadline format" in delivery.last_error
    connection = mapping.tallyfy_connection
    assert contract.check_state(connection, contract.DEADLINE_FORMAT) == "failed"
    assert contract.deadline_format_for(connection) == "space"

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    outbox.deliveries_sweep()
    task_queue.drain(include_delayed=False)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    deadline = tasks_of(sandbox, delivery.run_id)[RESOLVE]["deadline"]
    assert len(deadline) == 19 and deadline[10] == " "  # YYYY-MM-DD HH:MM:SS


def test_a_deadline_in_the_past_is_sent_and_said_on_the_attempt(sandbox, mapping, task_queue):
    MappingVersion.objects.filter(pk=mapping.current_version_id).update(
        deadlines=[{"step_id": RESOLVE, "source": "submitted", "offset_days": -3}]
    )
    submit(sandbox, "sam.rivera@acme.example")
    task_queue.drain()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SUCCEEDED
    attempt = delivery.attempts.get()
    assert attempt.error_kind == "warnings"
    assert "Resolve" in attempt.error_message and "in the past" in attempt.error_message
