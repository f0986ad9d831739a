"""The outbox: every publish to the broker goes through `task_publish`, here.

A Celery publish costs more CPU than the rest of an ingest (docs/benchmarks.md), so the
receiver only commits rows (DESIGN.md, "The pipeline", allows exactly this): a delivery
that is `pending` with no `next_attempt_at` has never been sent to the broker. The
dispatcher (`manage.py dispatch_deliveries`, one or more processes) claims such rows,
stamps them with the time the sweep may send them again, and publishes them a few ids
per message. Nothing here can lose a delivery: a row is durable before Tally gets its
200, and whatever a dispatcher claims but fails to publish (broker down, process killed)
is sent by the sweep once that time has passed; with no dispatcher running at all the
sweep sends new deliveries after 30 s. The pipeline's own re-sends (retries due soon,
staff and bulk retries, resumed held deliveries) publish through here as well.

Tasks are published by name (`integrations.tasks` registers them under these names), so
the services that publish never import the tasks that call them.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Delivery

log = logging.getLogger(__name__)

#: The names the tasks are registered under (beat schedules name some of them too).
DELIVER = "integrations.deliver"
DELIVER_MANY = "integrations.deliver_many"
RETRY_DELIVERY = "integrations.retry_delivery"
BULK_RETRY_STEP = "integrations.bulk_retry_step"

#: A delivery sent to the broker whose task has not started this long afterwards is sent
#: again by the sweep (the broker lost it, or the publish failed).
DEFAULT_REQUEUE_SECONDS = 120

#: Most ids one `deliver_many` message carries. Bigger batches cost less to publish;
#: smaller ones spread a burst over more worker processes.
DEFAULT_BATCH = 20
#: A claim of up to this many deliveries goes out as one message per delivery, so a
#: small burst runs in parallel on as many worker processes as there are.
SPREAD = 8
DEFAULT_INTERVAL = 0.05


def requeue_seconds() -> float:
    """How long a delivery sent to the broker waits before the sweep may send it again."""
    return float(getattr(settings, "DELIVERY_REQUEUE_SECONDS", DEFAULT_REQUEUE_SECONDS))


def task_publish(name: str, *args: Any, countdown: float | None = None, **options: Any) -> bool:
    """Publish one message for the task `name`; False (and a warning) if the broker refused.

    Never raises and never retries the publish: no caller may wait on a sick broker. What
    was not sent is durable and goes out again (the sweep re-sends deliveries, the
    progress poll restarts a bulk retry whose step was lost).
    """
    task = current_app.tasks[name]
    try:
        task.apply_async(args, countdown=countdown, retry=False, **options)
    except Exception as exc:
        log.warning("could not publish %s%s (sent again later): %s", name, list(args), exc)
        return False
    return True


def deliveries_enqueue(ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Send one `deliver` task per id; returns how many went out (never raises)."""
    return sum(task_publish(DELIVER, pk, countdown=countdown) for pk in ids)


def _batches(ids: list[int], most: int) -> list[list[int]]:
    """Split ids into at least min(len, SPREAD) messages of at most `most` ids each."""
    count = max(min(len(ids), SPREAD), math.ceil(len(ids) / most))
    return [ids[i::count] for i in range(count)]


def deliveries_dispatch(*, limit: int = 1000) -> int:
    """Publish deliveries nobody has sent to the broker yet; returns how many were sent.

    Safe to run in several processes at once: on PostgreSQL the claim skips rows another
    dispatcher has locked, on SQLite the IMMEDIATE transaction serialises the claims.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PENDING, next_attempt_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return 0
        Delivery.objects.filter(pk__in=ids).update(
            next_attempt_at=now + timedelta(seconds=requeue_seconds()), updated_at=now
        )
    sent: list[int] = []
    most = int(getattr(settings, "DELIVERY_DISPATCH_BATCH", DEFAULT_BATCH))
    soft, hard = settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT
    try:
        # One producer for the whole claim: a connection per message would cost more.
        with current_app.producer_or_acquire() as producer:
            for batch in _batches(ids, most):
                # A message's time limits grow with its size: each try has its own.
                if not task_publish(
                    DELIVER_MANY,
                    batch,
                    producer=producer,
                    soft_time_limit=soft * len(batch),
                    time_limit=hard * len(batch),
                ):
                    break
                sent += batch
    except Exception as exc:  # no producer: the broker is unreachable
        log.warning("could not reach the broker: %s", exc)
    if len(sent) < len(ids):  # broker down: the sweep sends the rest when their time comes
        log.warning(
            "dispatched %d of %d deliveries; the sweep will send the rest",
            len(sent),
            len(ids),
            extra={"delivery_ids": sorted(set(ids) - set(sent))},
        )
    if sent:
        log.info("dispatched %d deliveries", len(sent), extra={"delivery_ids": sent})
    return len(sent)


def deliveries_sweep(*, limit: int = 1000) -> int:
    """Re-enqueue what no task is going to run: pending deliveries not picked up, `sending`
    ones whose worker died (lease ran out), and retries that are due. Returns how many.

    Each one it sends becomes `pending` with `next_attempt_at` = when the sweep may send
    it again, so a long queue is not flooded with copies (a retry keeps its
    `outcome_unknown`: the try still looks for the run first).
    """
    now = timezone.now()
    lease_free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = (
        Q(status=Delivery.Status.PENDING, created_at__lt=now - timedelta(seconds=30))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        | Q(status=Delivery.Status.SENDING, lease_until__lt=now)
        | Q(status=Delivery.Status.RETRYING, next_attempt_at__lte=now)
    )
    ids = list(
        Delivery.objects.filter(due, lease_free)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    Delivery.objects.filter(due, lease_free, pk__in=ids).update(
        status=Delivery.Status.PENDING,
        lease_until=None,
        next_attempt_at=now + timedelta(seconds=requeue_seconds()),
        updated_at=now,
    )
    sent = deliveries_enqueue(ids)
    log.info("sweep re-enqueued %d deliveries", sent)
    return sent


def run_dispatcher(
    *, interval: float = DEFAULT_INTERVAL, stop: threading.Event, limit: int = 1000
) -> None:
    """Dispatch until `stop` is set: every `interval` seconds, or straight away while a
    full claim suggests a backlog. Waiting between looks even under load is deliberate:
    one look per interval sends a burst in a few messages, not one message per delivery.
    A database or broker error is logged and retried with a growing pause, never fatal."""
    failures = 0
    try:
        while not stop.is_set():
            try:
                close_old_connections()
                sent = deliveries_dispatch(limit=limit)
                failures = 0
            except Exception:
                failures += 1
                log.exception("dispatch failed (%d in a row); retrying", failures)
                sent = 0
            if sent < limit:
                stop.wait(min(interval * (2**failures), 5.0) if failures else interval)
    finally:
        connections.close_all()


def serve(*, interval: float = DEFAULT_INTERVAL) -> None:
    """The `dispatch_deliveries` command: run until SIGTERM or SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("dispatcher started (every %.3f s when idle)", interval)
    started = time.monotonic()
    run_dispatcher(interval=interval, stop=stop)
    log.info("dispatcher stopped after %.0f s", time.monotonic() - started)
