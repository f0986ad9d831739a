"""Retry, cancel and bulk retry (services; Tallyfy faked with respx)."""

import json
import logging
from datetime import timedelta
from functools import partial

import pytest
import respx
from django.utils import timezone

from integrations import outbox, retries, tasks
from integrations.models import (
    AuditEvent,
    BulkRetry,
    Delivery,
    DeliveryAttempt,
    MappingVersion,
)
from tests import pipeline_factories as pf

TALLYFY = "https://tallyfy.test/api"
RUNS = f"/api/organizations/{pf.ACME_ID}/runs"
TALLY = "https://tally.test"


@pytest.fixture(autouse=True)
def vendor_urls(settings):
    settings.TALLYFY_API_BASE_URL = TALLYFY
    settings.TALLYFY_APP_BASE_URL = "https://app.tallyfy.test"
    settings.TALLY_API_BASE_URL = TALLY
    settings.PUBLIC_BASE_URL = "https://kickoff.test"


class Sent:
    """Stands in for the broker for the retry and bulk tasks."""

    def __init__(self):
        self.retries, self.steps = [], []

    def run_retries(self):
        taken, self.retries[:] = list(self.retries), []
        for args in taken:
            tasks.retry_delivery.run(*args)
        return len(taken)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit():` ends as the service's request would: committed, its on-commit work run."""
    return partial(django_capture_on_commit_callbacks, execute=True)


@pytest.fixture
def sent(monkeypatch, task_queue):
    queue = Sent()
    monkeypatch.setattr(
        tasks.retry_delivery,
        "apply_async",
        lambda args=(), **kw: queue.retries.append(args),
    )
    monkeypatch.setattr(
        tasks.bulk_retry_step,
        "apply_async",
        lambda args=(), countdown=None, **kw: queue.steps.append((args[0], countdown)),
    )
    return queue


@pytest.fixture
def mapping(db):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


@pytest.fixture
def tallyfy():
    with respx.mock(base_url="https://tallyfy.test", assert_all_called=False) as router:
        # After a launch Kickoff checks that it could find the run again; Tallyfy lists
        # no runs unless a test says otherwise.
        router.get(RUNS).respond(200, json={"data": []})
        yield router


def run_body(run_id="run-1"):
    return {
        "data": {
            "id": run_id,
            "name": "Ticket",
            "status": "active",
            "checklist_id": pf.SUPPORT_TRIAGE_ID,
            "summary": "",
            "created_at": timezone.now().isoformat(),
        }
    }


def failed_delivery(mapping, status=Delivery.Status.FAILED, **changes):
    """A delivery whose first try ended as `status` (its attempt recorded)."""
    [d] = pf.ingest(mapping)
    DeliveryAttempt.objects.create(
        delivery=d,
        number=1,
        mapping_version=d.mapping_version,
        outcome="failed",
        finished_at=timezone.now(),
        response_status=500,
        error_message="Tallyfy was down",
    )
    Delivery.objects.filter(pk=d.pk).update(
        status=status,
        attempt_count=1,
        last_error="Tallyfy was down",
        last_status_code=500,
        **changes,
    )
    d.refresh_from_db()
    return d


def new_version(mapping, name_template="Fixed {Your email}"):
    old = mapping.current_version
    new = MappingVersion.objects.create(
        mapping=mapping,
        number=old.number + 1,
        name_template=name_template,
        template_fields=old.template_fields,
        form_questions=old.form_questions,
    )
    for rule in old.fields.all():
        rule.pk, rule.version = None, new
        rule.save()
    mapping.current_version = new
    mapping.save()
    return new


# --- one delivery ------------------------------------------------------------------------


def test_retrying_a_failed_delivery_requeues_the_same_delivery_and_audits_it(
    mapping, sent, operator, commit
):
    d = failed_delivery(mapping)

    with commit():
        done = retries.delivery_retry(d, user=operator, use_current_version=False)

    assert done.retry_accepted and done.pk == d.pk
    assert done.status == Delivery.Status.PENDING
    assert sent.retries == [(d.pk, "staff", operator.pk, False)]
    event = AuditEvent.objects.get(action="delivery.retried")
    assert event.actor == operator and event.object_id == str(d.pk)
    assert event.data["from_status"] == "failed"


def test_a_double_click_retries_once(mapping, sent, operator, commit):
    d = failed_delivery(mapping)

    with commit():
        first = retries.delivery_retry(d, user=operator, use_current_version=False)
    with commit():
        second = retries.delivery_retry(d, user=operator, use_current_version=False)

    assert first.retry_accepted and not second.retry_accepted
    assert len(sent.retries) == 1
    assert AuditEvent.objects.filter(action="delivery.retried").count() == 1


def test_two_workers_running_the_same_retry_launch_one_process(
    mapping, sent, operator, tallyfy, commit
):
    d = failed_delivery(mapping)
    route = tallyfy.post(RUNS).respond(201, json=run_body("run-7"))
    with commit():
        retries.delivery_retry(d, user=operator, use_current_version=False)
    [args] = sent.retries

    tasks.retry_delivery.run(*args)
    tasks.retry_delivery.run(*args)  # a duplicate of the task (or a second click's)

    assert route.call_count == 1
    d.refresh_from_db()
    assert d.status == Delivery.Status.SUCCEEDED and d.run_id == "run-7"
    assert d.attempts.count() == 2


def test_a_retry_appends_an_attempt_and_never_rewrites_the_earlier_one(
    mapping, sent, operator, tallyfy, commit
):
    d = failed_delivery(mapping)
    before = DeliveryAttempt.objects.filter(delivery=d).values()[0]
    tallyfy.post(RUNS).respond(201, json=run_body())

    with commit():
        retries.delivery_retry(d, user=operator, use_current_version=False)
    sent.run_retries()

    first, second = DeliveryAttempt.objects.filter(delivery=d).order_by("number")
    assert DeliveryAttempt.objects.filter(pk=first.pk).values()[0] == before
    assert second.number == 2 and second.trigger == "staff" and second.triggered_by == operator
    assert second.outcome == "succeeded"


@pytest.mark.parametrize("status", ["succeeded", "pending", "sending", "retrying"])
def test_only_failed_held_or_cancelled_deliveries_can_be_retried(
    mapping, sent, operator, status, commit
):
    d = failed_delivery(mapping, status=status)

    with commit():
        done = retries.delivery_retry(d, user=operator, use_current_version=False)

    assert not done.retry_accepted and done.status == status
    assert sent.retries == []


@pytest.mark.parametrize("status", ["held", "cancelled"])
def test_held_and_cancelled_deliveries_can_be_retried(mapping, sent, operator, status):
    d = failed_delivery(mapping, status=status)

    assert retries.delivery_retry(d, user=operator, use_current_version=False).retry_accepted


def test_retry_with_the_current_version_launches_with_it_and_keeps_the_old_attempt_on_its_own(
    mapping, sent, operator, tallyfy, commit
):
    d = failed_delivery(mapping)
    old = d.mapping_version
    new = new_version(mapping)
    route = tallyfy.post(RUNS).respond(201, json=run_body("fixed"))

    with commit():
        done = retries.delivery_retry(d, user=operator, use_current_version=True)
    assert done.mapping_version == new  # whichever worker claims it uses the new version
    sent.run_retries()

    assert json.loads(route.calls.last.request.content)["name"].startswith("Fixed")
    first, second = DeliveryAttempt.objects.filter(delivery=d).order_by("number")
    assert first.mapping_version == old and second.mapping_version == new


def test_retry_with_the_original_version_keeps_it(mapping, sent, operator, tallyfy, commit):
    d = failed_delivery(mapping)
    old = d.mapping_version
    new_version(mapping)
    route = tallyfy.post(RUNS).respond(201, json=run_body())

    with commit():
        retries.delivery_retry(d, user=operator, use_current_version=False)
    sent.run_retries()

    assert json.loads(route.calls.last.request.content)["name"].startswith("Ticket from")
    assert Delivery.objects.get(pk=d.pk).mapping_version == old


def test_a_lost_retry_task_is_picked_up_by_the_sweep_later(
    mapping, sent, operator, settings, commit
):
    from integrations.outbox import deliveries_sweep

    settings.DELIVERY_REQUEUE_SECONDS = 120
    d = failed_delivery(mapping, created_at=timezone.now() - timedelta(hours=1))
    with commit():
        retries.delivery_retry(d, user=operator, use_current_version=False)

    assert d.pk not in _swept(deliveries_sweep)  # its task is on the way
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert d.pk in _swept(deliveries_sweep)


def test_a_retry_while_the_broker_is_down_is_accepted_and_left_to_the_sweep(
    mapping, sent, operator, monkeypatch, caplog, commit
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.retry_delivery, "apply_async", broker_down)
    d = failed_delivery(mapping, created_at=timezone.now() - timedelta(hours=1))

    with caplog.at_level(logging.WARNING, logger="integrations.outbox"), commit():
        done = retries.delivery_retry(d, user=operator, use_current_version=False)

    assert done.retry_accepted and done.status == Delivery.Status.PENDING
    assert "could not publish integrations.retry_delivery" in caplog.text
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert d.pk in _swept(outbox.deliveries_sweep)


def _swept(sweep):
    from integrations import tasks

    captured = []
    original = tasks.deliver.apply_async
    tasks.deliver.apply_async = lambda args=(), **kw: captured.append(args[0])
    try:
        sweep()
    finally:
        tasks.deliver.apply_async = original
    return captured


# --- cancel the next try -----------------------------------------------------------------


def test_cancelling_a_scheduled_retry_stops_it_and_retry_brings_it_back(mapping, sent, operator):
    from integrations.delivery import delivery_process

    d = failed_delivery(mapping, status=Delivery.Status.RETRYING, next_attempt_at=timezone.now())

    done = retries.delivery_cancel_next(d, user=operator)

    assert done.cancel_accepted and done.status == Delivery.Status.CANCELLED
    assert done.next_attempt_at is None
    assert delivery_process(d.pk) is None  # the already-queued automatic try does nothing
    assert AuditEvent.objects.filter(action="delivery.retry_cancelled").count() == 1
    assert retries.delivery_retry(done, user=operator, use_current_version=False).retry_accepted


def test_cancelling_when_nothing_is_scheduled_changes_nothing(mapping, sent, operator):
    d = failed_delivery(mapping)

    done = retries.delivery_cancel_next(d, user=operator)

    assert not done.cancel_accepted and done.status == Delivery.Status.FAILED
    assert not AuditEvent.objects.filter(action="delivery.retry_cancelled").exists()


# --- bulk retry --------------------------------------------------------------------------


@pytest.fixture
def five_failed_two_succeeded(mapping, sent):
    failed = [failed_delivery(mapping) for _ in range(5)]
    ok = [failed_delivery(mapping, status=Delivery.Status.SUCCEEDED) for _ in range(2)]
    return failed, ok


def test_a_bulk_retry_takes_only_the_retryable_matching_deliveries(
    five_failed_two_succeeded, sent, operator, commit
):
    with commit():
        job = retries.bulk_retry_start(
            Delivery.objects.all(),
            user=operator,
            description="all",
            filters={},
            use_current_version=False,
        )

    assert job.total == 5 and job.status == BulkRetry.Status.RUNNING and job.done == 0
    assert sent.steps == [(job.pk, None)]
    assert sent.retries == []  # accepting launches nothing
    assert AuditEvent.objects.get(action="delivery.bulk_retry_started").data["total"] == 5


def test_a_bulk_retry_works_in_batches_then_finishes(
    five_failed_two_succeeded, sent, operator, commit
):
    failed, _ = five_failed_two_succeeded
    with commit():
        job = retries.bulk_retry_start(
            Delivery.objects.all(),
            user=operator,
            description="all",
            filters={},
            use_current_version=False,
        )

    assert retries.bulk_retry_step(job.pk, batch=2) == 2
    job.refresh_from_db()
    assert (job.done, job.retried, job.status) == (2, 2, "running")
    assert sent.steps[-1] == (job.pk, retries.BULK_TICK_SECONDS)
    retries.bulk_retry_step(job.pk, batch=2)
    retries.bulk_retry_step(job.pk, batch=2)
    job.refresh_from_db()

    assert (job.done, job.retried, job.skipped, job.status) == (5, 5, 0, "done")
    assert [a[0] for a in sent.retries] == [d.pk for d in failed]
    assert {a[1] for a in sent.retries} == {"bulk"}
    sent.run_retries()  # (no Tallyfy here: each try fails again, but once each)
    assert DeliveryAttempt.objects.filter(trigger="bulk").count() == 5


def test_a_bulk_retry_skips_deliveries_fixed_in_the_meantime(
    five_failed_two_succeeded, sent, operator, commit
):
    failed, _ = five_failed_two_succeeded
    with commit():
        job = retries.bulk_retry_start(
            Delivery.objects.all(),
            user=operator,
            description="all",
            filters={},
            use_current_version=False,
        )
    with commit():
        retries.delivery_retry(failed[0], user=operator, use_current_version=False)

    retries.bulk_retry_step(job.pk, batch=10)

    job.refresh_from_db()
    assert (job.retried, job.skipped, job.status) == (4, 1, "done")
    assert len([a for a in sent.retries if a[0] == failed[0].pk]) == 1


def test_a_cancelled_bulk_retry_stops_and_leaves_the_rest_as_they_were(
    five_failed_two_succeeded, sent, operator, commit
):
    failed, _ = five_failed_two_succeeded
    with commit():
        job = retries.bulk_retry_start(
            Delivery.objects.all(),
            user=operator,
            description="all",
            filters={},
            use_current_version=False,
        )
    retries.bulk_retry_step(job.pk, batch=2)

    job = retries.bulk_retry_cancel(job, user=operator)
    assert retries.bulk_retry_step(job.pk, batch=2) == 0

    assert job.status == "cancelled" and job.cancelled_by == operator and job.done == 2
    assert Delivery.objects.filter(pk__in=[d.pk for d in failed[2:]], status="failed").count() == 3
    assert AuditEvent.objects.filter(action="delivery.bulk_retry_cancelled").exists()


def test_two_copies_of_a_bulk_step_never_take_the_same_batch(
    five_failed_two_succeeded, sent, operator, commit
):
    with commit():
        job = retries.bulk_retry_start(
            Delivery.objects.all(),
            user=operator,
            description="all",
            filters={},
            use_current_version=False,
        )
    stale = BulkRetry.objects.get(pk=job.pk)
    retries.bulk_retry_step(job.pk, batch=2)
    # A second copy that read the job before the first moved the cursor:
    claimed = BulkRetry.objects.filter(pk=job.pk, cursor=stale.cursor).update(cursor=999)
    assert claimed == 0
    assert len(sent.retries) == 2


def test_an_empty_bulk_retry_is_done_at_once(mapping, sent, operator, commit):
    with commit():
        job = retries.bulk_retry_start(
            Delivery.objects.none(),
            user=operator,
            description="nothing",
            filters={},
            use_current_version=False,
        )
    assert job.total == 0 and job.status == "done" and sent.steps == []


def test_recover_since_retries_what_failed_after_the_time(mapping, sent, operator, commit):
    old = failed_delivery(mapping, created_at=timezone.now() - timedelta(days=3))
    recent = failed_delivery(mapping, created_at=timezone.now() - timedelta(hours=1))
    failed_delivery(mapping, status=Delivery.Status.SUCCEEDED)

    with commit():
        job = retries.bulk_retry_recover(
            since=timezone.now() - timedelta(days=1), user=operator, use_current_version=False
        )
    retries.bulk_retry_step(job.pk, batch=10)

    assert job.total == 1
    assert [a[0] for a in sent.retries] == [recent.pk]
    assert Delivery.objects.get(pk=old.pk).status == "failed"


def test_a_bulk_retry_paces_itself_at_the_tallyfy_rate_limit(settings):
    settings.TALLYFY_RATE_LIMIT = "120/minute"
    assert retries._batch_size() == 20  # 2 a second, a step every 10 s
    settings.BULK_RETRY_RATE = 6
    assert retries._batch_size() == 1


def test_a_stale_running_job_is_nudged_once(five_failed_two_succeeded, sent, operator, commit):
    with commit():
        job = retries.bulk_retry_start(
            Delivery.objects.all(),
            user=operator,
            description="all",
            filters={},
            use_current_version=False,
        )
    sent.steps.clear()
    assert not retries.bulk_retry_nudge(job)
    BulkRetry.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    job.refresh_from_db()

    assert retries.bulk_retry_nudge(job)
    assert not retries.bulk_retry_nudge(job)  # the same stale read nudges once
    assert sent.steps == [(job.pk, None)]


@pytest.mark.django_db(transaction=True)
def test_two_staff_clicking_retry_at_the_same_moment_queue_it_once(monkeypatch):
    """Concurrent clicks from two browsers: the conditional UPDATE lets exactly one in."""
    import threading

    from django.db import connection as db

    queued = []
    monkeypatch.setattr(
        tasks.retry_delivery, "apply_async", lambda args=(), **kw: queued.append(args)
    )
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    d = failed_delivery(mapping)
    start, accepted = threading.Barrier(2), []

    def click():
        try:
            start.wait()
            fresh = Delivery.objects.get(pk=d.pk)
            done = retries.delivery_retry(fresh, user=None, use_current_version=False)
            accepted.append(done.retry_accepted)
        finally:
            db.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(accepted) == [False, True]
    assert len(queued) == 1
    assert AuditEvent.objects.filter(action="delivery.retried").count() == 1
