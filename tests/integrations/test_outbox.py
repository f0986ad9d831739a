"""The outbox: new deliveries are committed by the receiver and published by a dispatcher,
each exactly once, a few per message; what a dispatcher cannot publish the sweep sends."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection as db_connection
from django.utils import timezone
from kombu.exceptions import OperationalError

from integrations import delivery as service
from integrations import outbox, tasks
from integrations.models import Delivery
from tests import pipeline_factories as pf


@pytest.fixture
def mapping(db):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


@pytest.fixture
def messages(monkeypatch):
    """Each `deliver_many` message as published: (ids, options)."""
    sent = []
    monkeypatch.setattr(
        tasks.deliver_many, "apply_async", lambda args=(), **opts: sent.append((args[0], opts))
    )
    return sent


def ingest(mapping, n):
    return [d.pk for _ in range(n) for d in pf.ingest(mapping)]


def test_each_new_delivery_is_published_once_and_stamped_for_the_sweep(
    mapping, task_queue, settings
):
    settings.DELIVERY_REQUEUE_SECONDS = 120
    ids = ingest(mapping, 3)
    before = timezone.now()

    assert outbox.deliveries_dispatch() == 3
    assert outbox.deliveries_dispatch() == 0

    assert sorted(task_queue.ids) == sorted(ids)
    for d in Delivery.objects.filter(pk__in=ids):
        # Still pending (no worker has it yet); the sweep leaves it alone for two minutes.
        assert d.status == Delivery.Status.PENDING
        assert before + timedelta(seconds=119) < d.next_attempt_at < before + timedelta(seconds=125)
    assert outbox.deliveries_sweep() == 0


def test_a_small_burst_goes_out_one_delivery_per_message(mapping, messages):
    ids = ingest(mapping, 3)

    outbox.deliveries_dispatch()

    assert sorted(batch for batch, _ in messages) == [[i] for i in sorted(ids)]


def test_a_large_burst_is_spread_over_messages_of_at_most_the_batch_size(
    mapping, messages, settings
):
    settings.DELIVERY_DISPATCH_BATCH = 10
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 60
    ids = ingest(mapping, 95)

    assert outbox.deliveries_dispatch() == 95

    batches = [batch for batch, _ in messages]
    assert len(batches) == 10 and max(map(len, batches)) == 10
    assert sorted(i for batch in batches for i in batch) == sorted(ids)
    # A message of n deliveries may run n times as long as one.
    for batch, options in messages:
        assert options["soft_time_limit"] == 60 * len(batch)


def test_a_broker_outage_leaves_the_deliveries_to_the_sweep(
    mapping, monkeypatch, settings, task_queue, caplog
):
    settings.DELIVERY_REQUEUE_SECONDS = 0
    ids = ingest(mapping, 2)

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.deliver_many, "apply_async", broker_down)
    with caplog.at_level(logging.WARNING, logger="integrations.outbox"):
        assert outbox.deliveries_dispatch() == 0
    assert "the sweep will send the rest" in caplog.text
    assert outbox.deliveries_dispatch() == 0  # claimed: the dispatcher does not spin on them

    # Later (the broker is back): the sweep sends what the dispatcher could not.
    Delivery.objects.filter(pk__in=ids).update(created_at=timezone.now() - timedelta(minutes=1))
    assert outbox.deliveries_sweep() == 2
    assert sorted(task_queue.ids) == sorted(ids)


def test_with_no_dispatcher_running_the_sweep_sends_new_deliveries_after_30_seconds(
    mapping, task_queue
):
    [fresh] = ingest(mapping, 1)
    [old] = ingest(mapping, 1)
    Delivery.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(seconds=31))

    assert outbox.deliveries_sweep() == 1
    assert task_queue.ids == [old]
    assert outbox.deliveries_dispatch() == 1 and task_queue.ids == [old, fresh]


def test_a_message_runs_every_delivery_even_when_one_of_them_errors(monkeypatch, caplog):
    ran = []

    def process(pk):
        ran.append(pk)
        if pk == 2:
            raise RuntimeError("unexpected")

    monkeypatch.setattr(service, "delivery_process_queued", process)
    with caplog.at_level(logging.ERROR, logger="integrations.tasks"):
        tasks.deliver_many.run([1, 2, 3])

    assert ran == [1, 2, 3]
    assert "delivery 2: unexpected error" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_publish_each_delivery_once(task_queue):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    ids = ingest(mapping, 40)
    barrier = threading.Barrier(2)
    errors = []

    def dispatcher():
        try:
            barrier.wait()
            for _ in range(5):
                outbox.deliveries_dispatch(limit=7)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(task_queue.ids) == sorted(ids)  # every one, none twice


@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_loop_sends_new_deliveries_and_survives_an_error(task_queue, monkeypatch):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    real, calls = outbox.deliveries_dispatch, []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is restarting")
        return real(**kwargs)

    monkeypatch.setattr(outbox, "deliveries_dispatch", flaky)
    stop = threading.Event()
    loop = threading.Thread(target=outbox.run_dispatcher, kwargs={"interval": 0.01, "stop": stop})
    loop.start()
    try:
        [delivery] = pf.ingest(mapping)
        deadline = time.monotonic() + 10
        while delivery.pk not in task_queue.ids and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        loop.join(5)

    assert not loop.is_alive()
    assert task_queue.ids == [delivery.pk]


@pytest.mark.django_db(transaction=True)
def test_the_command_publishes_new_deliveries_and_stops_cleanly_on_sigterm(tmp_path):
    """`manage.py dispatch_deliveries` as operators run it, on this test's database (its
    broker is in-memory here, so nothing it publishes reaches other tests' workers; the
    SIGKILL tests run it against a real broker and worker)."""
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    [delivery] = pf.ingest(mapping)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": pf.database_url(),
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "INFO",
    }
    log = tmp_path / "dispatcher.log"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "dispatch_deliveries", "--interval", "0.02"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if Delivery.objects.get(pk=delivery.pk).next_attempt_at is not None:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "dispatched 1 deliveries" in text and "dispatcher stopped" in text, text
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.PENDING
