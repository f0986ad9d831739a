"""The outbox: new deliveries reach the broker from a dispatcher, not from the receiver.

A Celery publish costs more CPU than the rest of an ingest (docs/benchmarks.md), so the
receiver only commits rows (DESIGN.md, "The pipeline", allows exactly this): a delivery
that is `pending` with no `next_attempt_at` has never been sent to the broker. The
dispatcher (`manage.py dispatch_deliveries`, one or more processes) claims such rows,
stamps them with the time the sweep may send them again, and publishes them a few ids
per message. Nothing here can lose a delivery: a row is durable before Tally gets its
200, and whatever a dispatcher claims but fails to publish (broker down, process killed)
is sent by the sweep once that time has passed; with no dispatcher running at all the
sweep sends new deliveries after 30 s.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.utils import timezone

from .delivery import requeue_seconds
from .models import Delivery

log = logging.getLogger(__name__)

#: Most ids one `deliver_many` message carries. Bigger batches cost less to publish;
#: smaller ones spread a burst over more worker processes.
DEFAULT_BATCH = 20
#: A claim of up to this many deliveries goes out as one message per delivery, so a
#: small burst runs in parallel on as many worker processes as there are.
SPREAD = 8
DEFAULT_INTERVAL = 0.05


def _batches(ids: list[int], most: int) -> list[list[int]]:
    """Split ids into at least min(len, SPREAD) messages of at most `most` ids each."""
    count = max(min(len(ids), SPREAD), math.ceil(len(ids) / most))
    return [ids[i::count] for i in range(count)]


def deliveries_dispatch(*, limit: int = 1000) -> int:
    """Publish deliveries nobody has sent to the broker yet; returns how many were sent.

    Safe to run in several processes at once: on PostgreSQL the claim skips rows another
    dispatcher has locked, on SQLite the IMMEDIATE transaction serialises the claims.
    """
    from .tasks import deliver_many

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
        with deliver_many.app.producer_or_acquire() as producer:
            for batch in _batches(ids, most):
                # A message's time limits grow with its size: each try has its own.
                deliver_many.apply_async(
                    (batch,),
                    producer=producer,
                    retry=False,
                    soft_time_limit=soft * len(batch),
                    time_limit=hard * len(batch),
                )
                sent += batch
    except Exception as exc:  # broker down: the sweep sends the rest when their time comes
        log.warning(
            "dispatched %d of %d deliveries; the sweep will send the rest: %s",
            len(sent),
            len(ids),
            exc,
            extra={"delivery_ids": sorted(set(ids) - set(sent))},
        )
    if sent:
        log.info("dispatched %d deliveries", len(sent), extra={"delivery_ids": sent})
    return len(sent)


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
