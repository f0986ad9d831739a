"""Staff fixing deliveries: retry one, cancel a scheduled retry, retry many in the background.

A retry re-queues **the same delivery** and appends an attempt; nothing is rewritten
(Saleor's `event_delivery_retry`). Double and concurrent clicks are safe because the retry
is a conditional UPDATE (failed / held / cancelled → pending): only the click that changes
the row enqueues a try, and the pipeline's own claim (`integrations.delivery`) makes sure
one try launches at most one process.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone

from .audit import audit_record
from .connections import NeedsReconnect, connection_call
from .delivery import attempt_next_number
from .http import ApiError, NotFound
from .models import (
    BulkRetry,
    BulkRetryItem,
    Delivery,
    DeliveryAttempt,
    Mapping,
)
from .outbox import BULK_RETRY_STEP, RETRY_DELIVERY, requeue_seconds, task_publish
from .tallyfy.client import run_url

log = logging.getLogger(__name__)

#: A bulk step takes this long's worth of the rate budget at a time.
BULK_TICK_SECONDS = 10.0
#: A running job whose steps stopped this long ago lost its task: the progress poll restarts it.
BULK_STALE_SECONDS = 120.0


# ---------------------------------------------------------------------------------------
# One delivery
# ---------------------------------------------------------------------------------------


def _mark_for_retry(
    delivery_id: int, *, use_current_version: bool, current_version_id: int | None
) -> bool:
    """A retryable delivery → pending, in one conditional UPDATE; True if this call did it.

    `next_attempt_at` keeps the pipeline's sweep off it for a while (its task is on the
    way); if that task is lost, the sweep sends the delivery itself afterwards.
    """
    now = timezone.now()
    changes: dict[str, Any] = {
        "status": Delivery.Status.PENDING,
        "next_attempt_at": now + timedelta(seconds=requeue_seconds()),
        "lease_until": None,
        "updated_at": now,
    }
    if use_current_version and current_version_id:
        # Whichever worker claims it then uses the current version; the attempts keep
        # the version each of them used.
        changes["mapping_version_id"] = current_version_id
    return bool(
        Delivery.objects.filter(pk=delivery_id, status__in=Delivery.RETRYABLE).update(**changes)
    )


def delivery_retry(
    delivery: Delivery,
    *,
    user,
    use_current_version: bool,
    trigger: str = DeliveryAttempt.Trigger.STAFF,
) -> Delivery:
    """Send a failed, held or cancelled delivery again; returns it as it is now.

    `delivery.retry_accepted` says whether this call re-queued it (False: it was not
    retryable any more, e.g. the other click of a double click got there first).
    """
    current_version_id = (
        Mapping.objects.filter(pk=delivery.mapping_id)
        .values_list("current_version_id", flat=True)
        .first()
    )
    from_version = delivery.mapping_version_id
    with transaction.atomic():
        accepted = _mark_for_retry(
            delivery.pk,
            use_current_version=use_current_version,
            current_version_id=current_version_id,
        )
        if accepted:
            which = "the current mapping version" if use_current_version else "its own version"
            audit_record(
                actor=user,
                action="delivery.retried",
                obj=delivery,
                summary=f"Retried delivery {delivery.pk} with {which}",
                from_status=delivery.status,
                use_current_version=use_current_version,
                from_version_id=from_version,
                version_id=current_version_id if use_current_version else from_version,
            )
            user_id = user.pk if getattr(user, "is_authenticated", False) else None
            # A lost publish is no loss: the sweep sends a pending delivery itself later.
            transaction.on_commit(
                lambda: task_publish(
                    RETRY_DELIVERY, delivery.pk, trigger, user_id, use_current_version
                )
            )
    return _fresh(delivery, retry_accepted=accepted)


#: "Retry selected" takes at most this many rows at once (a page and a few "Older" loads).
SELECTION_MAX = 500


def delivery_retry_selection(ids: list[int], *, user) -> tuple[list[int], list[int]]:
    """Retry the deliveries staff ticked, each with its own mapping version: the same
    conditional retry as one row's Retry, so a double submit or a row that settled or left
    the retryable statuses meanwhile is skipped, never sent twice. Returns (retried,
    skipped) ids. A fixed number of queries plus one UPDATE and one audit row per id."""
    ids = sorted(set(ids))[:SELECTION_MAX]
    rows = {
        pk: status for pk, status in Delivery.objects.filter(pk__in=ids).values_list("pk", "status")
    }
    retried: list[int] = []
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        for pk in ids:
            if pk not in rows or not _mark_for_retry(
                pk, use_current_version=False, current_version_id=None
            ):
                continue
            retried.append(pk)
            audit_record(
                actor=user,
                action="delivery.retried",
                obj=Delivery(pk=pk),
                summary=f"Retried delivery {pk} with its own version (selection)",
                from_status=rows[pk],
                use_current_version=False,
            )
        publish = list(retried)
        transaction.on_commit(
            lambda: [
                task_publish(RETRY_DELIVERY, pk, DeliveryAttempt.Trigger.STAFF, user_id, False)
                for pk in publish
            ]
        )
    skipped = [pk for pk in ids if pk not in set(retried)]
    return retried, skipped


def delivery_cancel_next(delivery: Delivery, *, user) -> Delivery:
    """Cancel a scheduled automatic retry (retrying → cancelled). Retry brings it back.

    `delivery.cancel_accepted` is False when there was nothing scheduled any more.
    """
    now = timezone.now()
    with transaction.atomic():
        accepted = bool(
            Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.RETRYING).update(
                status=Delivery.Status.CANCELLED, next_attempt_at=None, updated_at=now
            )
        )
        if accepted:
            audit_record(
                actor=user,
                action="delivery.retry_cancelled",
                obj=delivery,
                summary=f"Cancelled the scheduled retry of delivery {delivery.pk}",
                next_attempt_at=delivery.next_attempt_at.isoformat()
                if delivery.next_attempt_at
                else None,
            )
    return _fresh(delivery, cancel_accepted=accepted)


# ---------------------------------------------------------------------------------------
# Needs a check: staff say which run it was, or that none was made
# ---------------------------------------------------------------------------------------


class CheckError(Exception):
    """The answer to a delivery that needs a check was refused; the message says why."""


def delivery_use_run(delivery: Delivery, *, run_id: str, user) -> Delivery:
    """Staff say `run_id` is the run this delivery's unanswered launch made: adopt it.

    The run is read from Tallyfy first (it must exist and belong to the mapping's
    template). `delivery.check_accepted` is False when the delivery no longer needed a
    check (the other click of a double click got there first).
    """
    run_id = run_id.strip()
    if not run_id:
        raise CheckError("Choose a run, or paste a Tallyfy run id.")
    owner = (
        Delivery.objects.filter(run_id=run_id).exclude(pk=delivery.pk).values_list("pk", flat=True)
    ).first()
    if owner:
        raise CheckError(f"Run {run_id} already belongs to delivery {owner}.")
    tallyfy = delivery.mapping.tallyfy_connection
    try:
        run = connection_call(tallyfy, lambda c: c.get_run(run_id))
    except NotFound:
        raise CheckError(f"Tallyfy has no run {run_id}.") from None
    except (ApiError, NeedsReconnect) as exc:
        raise CheckError(f"Tallyfy could not be asked about run {run_id}: {exc}") from None
    if run.checklist_id and run.checklist_id != delivery.mapping.template_id:
        raise CheckError(f"Run {run_id} was launched from another template.")
    now = timezone.now()
    with transaction.atomic():
        accepted = bool(
            Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.NEEDS_CHECK).update(
                status=Delivery.Status.SUCCEEDED,
                run_id=run.id,
                run_url=run_url(tallyfy.external_id, run.id),
                outcome_unknown=False,
                candidates=[],
                last_error="",
                next_attempt_at=None,
                updated_at=now,
            )
        )
        if accepted:
            DeliveryAttempt.objects.create(
                delivery=delivery,
                number=attempt_next_number(delivery),
                mapping_version_id=delivery.mapping_version_id,
                trigger=DeliveryAttempt.Trigger.STAFF,
                triggered_by=user if getattr(user, "is_authenticated", False) else None,
                started_at=now,
                finished_at=now,
                duration_ms=0,
                outcome=DeliveryAttempt.Outcome.ADOPTED,
                response_status=200,
                response_body=json.dumps(run.raw, default=str, ensure_ascii=False)[:4096],
            )
            audit_record(
                actor=user,
                action="delivery.run_chosen",
                obj=delivery,
                summary=f"Said run {run.id} is the one delivery {delivery.pk} launched",
                run_id=run.id,
            )
    return _fresh(delivery, check_accepted=accepted)


def delivery_launch_unchecked(delivery: Delivery, *, user) -> Delivery:
    """Staff say the unanswered launch made no run: launch it (once) now."""
    now = timezone.now()
    with transaction.atomic():
        accepted = bool(
            Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.NEEDS_CHECK).update(
                status=Delivery.Status.PENDING,
                outcome_unknown=False,
                candidates=[],
                next_attempt_at=now + timedelta(seconds=requeue_seconds()),
                lease_until=None,
                updated_at=now,
            )
        )
        if accepted:
            audit_record(
                actor=user,
                action="delivery.launch_confirmed",
                obj=delivery,
                summary=f"Said delivery {delivery.pk}'s earlier try made no run; launching",
            )
            user_id = user.pk if getattr(user, "is_authenticated", False) else None
            transaction.on_commit(
                lambda: task_publish(
                    RETRY_DELIVERY, delivery.pk, DeliveryAttempt.Trigger.STAFF, user_id, False
                )
            )
    return _fresh(delivery, check_accepted=accepted)


def _fresh(delivery: Delivery, **flags: bool) -> Delivery:
    fresh = Delivery.objects.select_related("submission", "mapping", "mapping_version").get(
        pk=delivery.pk
    )
    for name, value in flags.items():
        setattr(fresh, name, value)
    return fresh


# ---------------------------------------------------------------------------------------
# Many deliveries
# ---------------------------------------------------------------------------------------


def bulk_rate_per_second() -> float:
    """How fast a bulk job sends: the Tallyfy rate limit (or `BULK_RETRY_RATE`, per minute)."""
    override = getattr(settings, "BULK_RETRY_RATE", None)
    if override:
        return float(override) / 60.0
    from limits import parse

    item = parse(getattr(settings, "TALLYFY_RATE_LIMIT", "100/minute"))
    return item.amount / float(item.get_expiry())


def _batch_size() -> int:
    return max(1, round(bulk_rate_per_second() * BULK_TICK_SECONDS))


def bulk_retry_start(
    deliveries: QuerySet[Delivery],
    *,
    user,
    description: str,
    filters: dict[str, Any],
    use_current_version: bool,
) -> BulkRetry:
    """Accept a bulk retry of the retryable deliveries among `deliveries`.

    Accepting is cheap whatever the size: one row for the job and one INSERT … SELECT of
    its items (the snapshot it works through); nothing is launched here.
    """
    ids = deliveries.filter(status__in=Delivery.BULK_RETRYABLE).order_by().values("pk")
    try:
        select_sql, params = ids.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (e.g. .none())
        select_sql, params = None, ()
    table = BulkRetryItem._meta.db_table
    with transaction.atomic():
        job = BulkRetry.objects.create(
            description=description[:500],
            filters=filters,
            use_current_version=use_current_version,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        total = 0
        if select_sql is not None:
            # Django built `select_sql`; every value goes in as a parameter.
            insert = f"INSERT INTO {table} (bulk_id, delivery_id) SELECT %s, picked.* FROM ({select_sql}) picked"  # noqa: S608, E501
            with db_connection.cursor() as cursor:
                cursor.execute(insert, (job.pk, *params))
                total = cursor.rowcount
            if total < 0:  # a driver that does not say
                total = BulkRetryItem.objects.filter(bulk=job).count()
        now = timezone.now()
        BulkRetry.objects.filter(pk=job.pk).update(
            total=total,
            **({"status": BulkRetry.Status.DONE, "finished_at": now} if total == 0 else {}),
        )
        job.refresh_from_db()
        audit_record(
            actor=user,
            action="delivery.bulk_retry_started",
            obj=job,
            summary=f"Bulk retry of {total} deliveries: {description}"[:500],
            total=total,
            filters=filters,
            use_current_version=use_current_version,
        )
        if total:
            transaction.on_commit(lambda: task_publish(BULK_RETRY_STEP, job.pk))
    log.info("bulk retry %s accepted: %d deliveries", job.pk, total, extra={"bulk_id": job.pk})
    return job


def recover_since(since: datetime) -> QuerySet[Delivery]:
    """The deliveries "Recover since…" retries: failed ones created at or after `since`."""
    return Delivery.objects.filter(status=Delivery.Status.FAILED, created_at__gte=since)


def bulk_retry_recover(*, since: datetime, user, use_current_version: bool) -> BulkRetry:
    """Retry every delivery that failed since `since`, in the background."""
    return bulk_retry_start(
        recover_since(since),
        user=user,
        description=f"Recover everything failed since {since:%Y-%m-%d %H:%M} UTC",
        filters={"since": since.isoformat()},
        use_current_version=use_current_version,
    )


def bulk_retry_step(bulk_id: int, *, batch: int | None = None) -> int:
    """Retry the job's next batch (claimed by moving its cursor, so two copies of the task
    never take the same items); schedules the next step. Returns how many were retried."""
    job = BulkRetry.objects.filter(pk=bulk_id).first()
    if job is None or job.status != BulkRetry.Status.RUNNING:
        return 0
    size = batch or _batch_size()
    items = list(
        BulkRetryItem.objects.filter(bulk_id=bulk_id, pk__gt=job.cursor)
        .order_by("pk")
        .values_list("pk", "delivery_id")[:size]
    )
    now = timezone.now()
    if not items:
        BulkRetry.objects.filter(pk=bulk_id, status=BulkRetry.Status.RUNNING).update(
            status=BulkRetry.Status.DONE, finished_at=now, heartbeat_at=now
        )
        return 0
    claimed = BulkRetry.objects.filter(
        pk=bulk_id, status=BulkRetry.Status.RUNNING, cursor=job.cursor
    ).update(cursor=items[-1][0], heartbeat_at=now)
    if not claimed:  # cancelled, or another copy of this step took the batch
        return 0
    delivery_ids = [d for _, d in items]
    current = dict(
        Delivery.objects.filter(pk__in=delivery_ids).values_list(
            "pk", "mapping__current_version_id"
        )
    )
    user_id = job.created_by_id
    retried = []
    for delivery_id in delivery_ids:
        if _mark_for_retry(
            delivery_id,
            use_current_version=job.use_current_version,
            current_version_id=current.get(delivery_id),
        ):
            retried.append(delivery_id)
    retried_set = set(retried)
    retried_items = [pk for pk, delivery_id in items if delivery_id in retried_set]
    BulkRetryItem.objects.filter(pk__in=retried_items).update(retried=True)
    for delivery_id in retried:
        task_publish(
            RETRY_DELIVERY,
            delivery_id,
            DeliveryAttempt.Trigger.BULK,
            user_id,
            job.use_current_version,
        )
    last_page = len(items) < size
    BulkRetry.objects.filter(pk=bulk_id).update(
        done=F("done") + len(items),
        retried=F("retried") + len(retried),
        skipped=F("skipped") + (len(items) - len(retried)),
        heartbeat_at=timezone.now(),
    )
    if last_page:
        BulkRetry.objects.filter(pk=bulk_id, status=BulkRetry.Status.RUNNING).update(
            status=BulkRetry.Status.DONE, finished_at=timezone.now()
        )
    else:
        task_publish(BULK_RETRY_STEP, bulk_id, countdown=BULK_TICK_SECONDS)
    return len(retried)


#: How a bulk job's progress groups the current status of the deliveries it retried.
BULK_OUTCOMES = (
    ("succeeded", "succeeded", (Delivery.Status.SUCCEEDED,)),
    ("failed", "failed", (Delivery.Status.FAILED,)),
    (
        "retrying",
        "still retrying",
        (Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.RETRYING),
    ),
    ("needs_check", "need a check", (Delivery.Status.NEEDS_CHECK,)),
    ("held", "held", (Delivery.Status.HELD,)),
    ("skipped", "skipped by the launch rules", (Delivery.Status.SKIPPED,)),
    ("cancelled", "cancelled", (Delivery.Status.CANCELLED,)),
)


#: A job that retried more deliveries than this recounts their outcomes at most every
#: OUTCOMES_REFRESH_SECONDS: the grouped count reads every one of them (200 ms for 100,000
#: in tests.bench.deliveries), too much for a page polled every few seconds.
OUTCOMES_CACHED_FROM = 5_000
OUTCOMES_REFRESH_SECONDS = 30


def bulk_retry_outcomes(job: BulkRetry) -> list[tuple[str, str, int]]:
    """Where the deliveries the job retried stand now, as (key, label, count): succeeded,
    failed and still retrying always, the rarer outcomes only when some are."""
    if job.retried < OUTCOMES_CACHED_FROM:
        return bulk_retry_count_outcomes(job)
    key = f"kickoff:bulk-outcomes:{job.pk}"
    outcomes = cache.get(key)
    if outcomes is None:
        outcomes = bulk_retry_count_outcomes(job)
        cache.set(key, outcomes, OUTCOMES_REFRESH_SECONDS)
    return outcomes


def bulk_retry_count_outcomes(job: BulkRetry) -> list[tuple[str, str, int]]:
    """`bulk_retry_outcomes`, counted now (one grouped query over bulkretryitem_retried)."""
    by_status = dict(
        Delivery.objects.filter(bulk_items__bulk=job, bulk_items__retried=True)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    out = []
    for key, label, statuses in BULK_OUTCOMES:
        n = sum(by_status.get(s, 0) for s in statuses)
        if n or key in ("succeeded", "failed", "retrying"):
            out.append((key, label, n))
    return out


def bulk_retry_cancel(job: BulkRetry, *, user) -> BulkRetry:
    """Stop a running bulk retry: what it already sent goes on, the rest stays as it is."""
    now = timezone.now()
    stopped = BulkRetry.objects.filter(pk=job.pk, status=BulkRetry.Status.RUNNING).update(
        status=BulkRetry.Status.CANCELLED,
        finished_at=now,
        cancelled_by=user if getattr(user, "is_authenticated", False) else None,
    )
    job.refresh_from_db()
    if stopped:
        audit_record(
            actor=user,
            action="delivery.bulk_retry_cancelled",
            obj=job,
            summary=f"Cancelled bulk retry {job.pk} after {job.done} of {job.total}",
            done=job.done,
            total=job.total,
        )
    return job


def bulk_retries_nudge_stale() -> int:
    """Restart every running job whose step task was lost (the sweep's beat job)."""
    stale = timezone.now() - timedelta(seconds=BULK_STALE_SECONDS)
    jobs = BulkRetry.objects.filter(status=BulkRetry.Status.RUNNING, heartbeat_at__lte=stale)
    return sum(bulk_retry_nudge(job) for job in jobs)


def bulk_retry_nudge(job: BulkRetry) -> bool:
    """Restart a running job whose step task was lost (broker restart). True if nudged."""
    stale = timezone.now() - timedelta(seconds=BULK_STALE_SECONDS)
    if job.status != BulkRetry.Status.RUNNING or job.heartbeat_at > stale:
        return False
    touched = BulkRetry.objects.filter(
        pk=job.pk, status=BulkRetry.Status.RUNNING, heartbeat_at=job.heartbeat_at
    ).update(heartbeat_at=timezone.now())
    if touched:
        task_publish(BULK_RETRY_STEP, job.pk)
    return bool(touched)
