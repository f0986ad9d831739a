"""The pipeline over real HTTP: the sandbox Tally signs and posts webhooks to the live
Kickoff, the delivery launches runs in the sandbox Tallyfy, faults included."""

import time

import httpx
import pytest
from django.utils import timezone

from integrations import connections, contract, outbox, reconcile, retries
from integrations.delivery import delivery_process
from integrations.mappings import mapping_enable
from integrations.models import Connection, Delivery, DeliveryAttempt, Endpoint, Submission
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")


@pytest.fixture
def sandbox(sandbox_seeded, live_kickoff, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    return live_kickoff


@pytest.fixture
def mapping(sandbox):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    mapping_enable(mapping, actor=None)  # registers the signed webhook at the sandbox Tally
    return mapping


def submit(base, email="ria@example.com", *, deliver=True):
    response = httpx.post(
        f"{base}/sandbox/tally/control/forms/{pf.SUPPORT_FORM_ID}/submissions",
        json={
            "answers": {"Your email": email, "Category": "Bug", "Describe the problem": "Broken"},
            "deliver": deliver,
        },
        timeout=20,
    )
    response.raise_for_status()
    return response.json()


def fault(base, kind, count=1, **extra):
    httpx.post(
        f"{base}/sandbox/tallyfy/control/faults", json={"kind": kind, "count": count, **extra}
    ).raise_for_status()


def runs(base):
    data = httpx.get(f"{base}/sandbox/tallyfy/control/runs", timeout=20).json()["data"]
    return [r for r in data if r["checklist_id"] == pf.SUPPORT_TRIAGE_ID]


def runs_for(base, delivery):
    return [
        r
        for r in runs(base)
        if (r["summary"] or "").endswith(f"Kickoff reference: {delivery.marker}")
    ]


def wait_until(predicate, what, timeout=30.0):
    """Polls `predicate` until true: however slow the machine, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def the_delivery():
    return Delivery.objects.get()


def make_due(delivery):
    """Time passes: the retry is due, and the sweep sends its task."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    outbox.deliveries_sweep()


def test_a_tally_submission_becomes_exactly_one_tallyfy_run(sandbox, mapping, task_queue):
    sent = submit(sandbox, "nora@example.com")
    assert sent["deliveries"][0]["statusCode"] == 200  # Tally's webhook got its 200

    task_queue.drain()

    delivery = the_delivery()
    assert delivery.status == Delivery.Status.SUCCEEDED
    [run] = runs(sandbox)
    assert run["id"] == delivery.run_id
    assert run["name"] == "Ticket from nora@example.com"
    assert run["prerun"][pf.triage_field_id("requester_email")] == "nora@example.com"
    assert delivery.run_url.endswith(f"/processes/{run['id']}")
    assert httpx.get(delivery.run_url).status_code == 200  # the link opens the run
    assert Submission.objects.get().submission_id == sent["submissionId"]


def test_a_429_burst_is_waited_out_and_launches_once(sandbox, mapping, task_queue):
    fault(sandbox, "429", count=2, retry_after=1)
    submit(sandbox)
    task_queue.drain(include_delayed=False)
    delivery = the_delivery()
    assert delivery.status == Delivery.Status.RETRYING
    # Retry-After (1 s) counted from when Tallyfy answered, not from when this line runs.
    answered = delivery.attempts.get().finished_at
    assert 0 < (delivery.next_attempt_at - answered).total_seconds() <= 1

    for _ in range(2):  # what the countdown task and the sweep do, by hand
        wait_until(lambda: the_delivery().next_attempt_at <= timezone.now(), "the retry")
        task_queue.take()
        outbox.deliveries_sweep()
        task_queue.drain(include_delayed=False)

    assert the_delivery().status == Delivery.Status.SUCCEEDED
    assert len(runs(sandbox)) == 1


def switch(base, **values):
    httpx.post(f"{base}/sandbox/tallyfy/control/switches", json=values).raise_for_status()


TALLYFY_VARIANTS = [
    pytest.param({}, id="search-reads-summaries"),
    pytest.param({"runs_search": "name_only"}, id="search-reads-names-only"),
    pytest.param({"runs_search": "name_only", "summary": "dropped"}, id="summary-dropped"),
]


@pytest.mark.parametrize("variant", TALLYFY_VARIANTS)
def test_once_a_launch_was_found_again_a_500_is_looked_up_then_launched_once(
    sandbox, mapping, task_queue, variant
):
    switch(sandbox, **variant)
    submit(sandbox, "first@example.com")  # a first launch: Kickoff finds its run again
    task_queue.drain()
    assert contract.check_state(mapping.tallyfy_connection, contract.RUN_LOOKUP) == "verified"

    fault(sandbox, "500")
    submit(sandbox, "second@example.com")
    task_queue.drain()
    delivery = Delivery.objects.latest("pk")
    assert delivery.status == Delivery.Status.RETRYING and delivery.outcome_unknown

    make_due(delivery)
    task_queue.drain()

    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SUCCEEDED
    assert len(runs(sandbox)) == 2


@pytest.mark.parametrize("variant", TALLYFY_VARIANTS)
def test_a_dropped_answer_is_adopted_by_whichever_way_finds_runs_here(
    sandbox, mapping, task_queue, variant
):
    switch(sandbox, **variant)
    submit(sandbox, "first@example.com")
    task_queue.drain()

    fault(sandbox, "drop")
    submit(sandbox, "second@example.com")
    task_queue.drain()
    delivery = Delivery.objects.latest("pk")
    make_due(delivery)
    task_queue.drain()

    delivery = Delivery.objects.get(pk=delivery.pk)
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(runs(sandbox)) == 2  # one per submission, none twice
    assert [a.outcome for a in delivery.attempts.order_by("number")] == ["retry", "adopted"]


def test_before_any_launch_was_found_again_a_500_waits_for_staff_who_launch_it_once(
    sandbox, mapping, task_queue, operator
):
    fault(sandbox, "500")
    submit(sandbox)
    task_queue.drain()
    make_due(the_delivery())
    task_queue.drain()

    delivery = the_delivery()
    assert delivery.status == Delivery.Status.NEEDS_CHECK and runs(sandbox) == []

    retries.delivery_launch_unchecked(delivery, user=operator)
    delivery_process(delivery.pk, trigger="staff", user=operator)

    assert the_delivery().status == Delivery.Status.SUCCEEDED
    assert len(runs(sandbox)) == 1


def test_a_422_fails_with_tallyfys_message(sandbox, mapping, task_queue):
    fault(sandbox, "422")
    submit(sandbox)
    task_queue.drain()

    delivery = the_delivery()
    assert delivery.status == Delivery.Status.FAILED
    assert "Rejected by a sandbox fault switch." in delivery.last_error
    assert runs(sandbox) == []


def test_a_dropped_connection_after_the_run_was_made_adopts_it_one_run_not_two(
    sandbox, mapping, task_queue
):
    fault(sandbox, "drop")
    submit(sandbox)
    task_queue.drain()
    delivery = the_delivery()
    assert delivery.status == Delivery.Status.RETRYING and delivery.outcome_unknown
    assert len(runs_for(sandbox, delivery)) == 1  # Tallyfy did create it

    make_due(delivery)
    task_queue.drain()

    delivery = the_delivery()
    assert delivery.status == Delivery.Status.SUCCEEDED
    [run] = runs(sandbox)
    assert delivery.run_id == run["id"]
    assert [a.outcome for a in delivery.attempts.order_by("number")] == ["retry", "adopted"]


def test_a_launch_that_times_out_is_adopted_once_tallyfy_finishes_it(
    sandbox, mapping, task_queue, settings
):
    settings.HTTP_TIMEOUT_SECONDS = 1
    fault(sandbox, "hang", hang_seconds=2)
    submit(sandbox)
    task_queue.drain()
    delivery = the_delivery()
    assert delivery.outcome_unknown
    assert delivery.attempts.get().error_kind == "outcome_unknown"

    wait_until(lambda: runs(sandbox), "the sandbox to finish the launch it was hanging on")
    make_due(delivery)
    task_queue.drain()

    assert the_delivery().status == Delivery.Status.SUCCEEDED
    assert len(runs(sandbox)) == 1


def test_a_held_delivery_resumes_by_itself_after_reconnecting(sandbox, mapping, task_queue):
    tallyfy = mapping.tallyfy_connection
    Connection.objects.filter(pk=tallyfy.pk).update(access_token="revoked-token-xyz")  # dead
    submit(sandbox)
    task_queue.drain()
    delivery = the_delivery()
    assert delivery.status == Delivery.Status.HELD
    assert Connection.objects.get(pk=tallyfy.pk).status == Connection.Status.NEEDS_RECONNECT
    assert runs(sandbox) == []

    connections.connect_tallyfy_token(
        pf.TALLYFY_TOKEN,
        pf.ACME_ID,
        actor=None,
        reconnect=Connection.objects.get(pk=tallyfy.pk),
    )
    task_queue.drain()

    delivery = the_delivery()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(runs(sandbox)) == 1
    assert [a.outcome for a in delivery.attempts.order_by("number")] == ["held", "succeeded"]


def test_the_sweep_delivers_what_the_broker_lost(sandbox, mapping, task_queue):
    submit(sandbox)
    task_queue.take()  # the task is lost
    Delivery.objects.update(created_at=timezone.now() - timezone.timedelta(minutes=5))

    assert outbox.deliveries_sweep() == 1
    task_queue.drain()

    assert the_delivery().status == Delivery.Status.SUCCEEDED
    assert len(runs(sandbox)) == 1


def test_reconcile_ingests_a_submission_whose_webhook_never_came(sandbox, mapping, task_queue):
    sent = submit(sandbox, deliver=False)
    assert Submission.objects.count() == 0

    result = reconcile.reconcile_mapping(mapping)
    task_queue.drain()

    assert result.ingested == 1
    sub = Submission.objects.get()
    assert sub.source == Submission.Source.RECONCILE and sub.submission_id == sent["submissionId"]
    delivery = the_delivery()
    assert delivery.status == Delivery.Status.SUCCEEDED
    [run] = runs(sandbox)
    assert run["prerun"][pf.triage_field_id("requester_email")] == "ria@example.com"
    # Nothing twice: reconciling again, and the webhook arriving late, add nothing.
    assert reconcile.reconcile_mapping(mapping).ingested == 0
    assert Submission.objects.count() == 1 and Delivery.objects.count() == 1


def test_reconcile_ingests_failed_webhook_events_from_tallys_log_once(sandbox, mapping, task_queue):
    endpoint = Endpoint.objects.get()
    real_secret = endpoint.signing_secret
    endpoint.signing_secret = "rotated-by-mistake"
    endpoint.save()
    sent = submit(sandbox)
    assert sent["deliveries"][0]["statusCode"] == 401  # Tally logged a FAILED event
    assert Submission.objects.count() == 0

    result = reconcile.reconcile_mapping(mapping)
    task_queue.drain()

    assert result.ingested == 1
    sub = Submission.objects.get()
    assert sub.source == Submission.Source.RECONCILE and sub.event_id == sent["eventIds"][0]
    assert the_delivery().status == Delivery.Status.SUCCEEDED

    # Tally's own retry arrives later, correctly signed: a duplicate, nothing new.
    endpoint.signing_secret = real_secret
    endpoint.save()
    event_id = sent["deliveries"][0]["id"]
    redelivered = httpx.post(f"{sandbox}/sandbox/tally/events/{event_id}/redeliver")
    assert redelivered.status_code < 500
    assert Submission.objects.count() == 1 and Delivery.objects.count() == 1
    assert len(runs(sandbox)) == 1
    assert DeliveryAttempt.objects.count() == 1
