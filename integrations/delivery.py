"""The delivery pipeline: launch one Tallyfy process per delivery, exactly once.

`delivery_process` is the whole story of one try (the Celery task `deliver` only calls it):

1. **Claim** the delivery with a conditional UPDATE: pending, due retrying, held being
   resumed, or `sending` whose lease ran out (its worker died) → `sending` + a lease.
   Whoever updates the row owns the try; everyone else walks away.
2. **Route and encode** (`integrations.launching`): a submission the mapping's launch rules
   don't take ends `skipped` with the reason; else encode the launch with the delivery's
   version and stop before any HTTP call when a required kick-off value is missing.
3. **Look before launching again.** Tallyfy has no idempotency key. Every launch carries
   the delivery's marker in its summary; `outcome_unknown` is set *before* the POST and
   cleared only on a definite answer, so after a timeout, a dropped connection or a worker
   killed mid-call, the next try searches for the run by marker and adopts it
   (`integrations.adoption`).
4. **Classify** the outcome (DESIGN.md "The pipeline"): 2xx succeeded; 429 retry after
   `Retry-After`; 5xx/timeouts/network retry on `DELIVERY_RETRY_SCHEDULE`; 401 → the
   connection refreshes once, else it needs reconnecting and the delivery is **held** until
   it is reconnected; 422/other 4xx fail at once with Tallyfy's message per field.

Every try appends a DeliveryAttempt (request body, response status/body truncated,
duration, error kind; never a token). Nothing here holds a database transaction open
across an HTTP call.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import adoption, contract
from .alerts import delivery_failure_email
from .completion import task_try
from .connections import NeedsReconnect, connection_call
from .held import delivery_resume_if_reconnected
from .http import ApiError, Invalid, OutcomeUnknown, RateLimited
from .launching import (
    deadline_outcome,
    delivery_build,
    delivery_route,
    field_messages,
)
from .models import (
    Delivery,
    DeliveryAttempt,
    Mapping,
    MappingVersion,
)
from .outbox import deliveries_enqueue
from .outcome import Outcome, keep, skipped, succeeded
from .tallyfy.client import run_url

log = logging.getLogger(__name__)

#: Published retry schedule (DESIGN.md): 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h, failed.
DEFAULT_RETRY_SCHEDULE = (30, 120, 600, 1800, 7200, 21600, 43200)
#: A claimed delivery belongs to its worker this long. Longer than CELERY_TASK_SOFT_TIME_LIMIT
#: (60 s), so a live worker never outlives its lease; a dead one's lease simply runs out.
DEFAULT_LEASE_SECONDS = 90
#: Retries due sooner than this get a Celery countdown as well as the sweep.
ETA_MAX_SECONDS = 300


def retry_schedule() -> tuple[float, ...]:
    return tuple(getattr(settings, "DELIVERY_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE))


def lease_seconds() -> float:
    return float(getattr(settings, "DELIVERY_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def _log_extra(delivery: Delivery, **more: Any) -> dict[str, Any]:
    return {"delivery_id": delivery.pk, "submission_id": delivery.submission_id, **more}


def _enqueue_on_commit(ids: list[int], *, countdown: float | None = None) -> None:
    if ids:
        transaction.on_commit(lambda: deliveries_enqueue(ids, countdown=countdown))


# ---------------------------------------------------------------------------------------
# Claiming
# ---------------------------------------------------------------------------------------


def _claim(delivery_id: int, trigger: str) -> datetime | None:
    """Take the delivery for one try; the lease end when this process owns it, else None."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=lease_seconds())
    lease_free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    if trigger == DeliveryAttempt.Trigger.AUTO:
        claimable = (
            Q(status=Delivery.Status.PENDING)
            | Q(status=Delivery.Status.RETRYING, next_attempt_at__lte=now)
            | Q(status=Delivery.Status.RETRYING, next_attempt_at__isnull=True)
            # Its worker died mid-try (lease ran out): this is the redelivered task or
            # the sweep. `outcome_unknown` makes the try look for the run first.
            | Q(status=Delivery.Status.SENDING)
        )
    else:
        claimable = Q(status__in=Delivery.STAFF_CLAIMABLE) | Q(status=Delivery.Status.SENDING)
    updated = Delivery.objects.filter(claimable, lease_free, pk=delivery_id).update(
        status=Delivery.Status.SENDING,
        lease_until=lease_until,
        attempt_count=F("attempt_count") + 1,
        updated_at=now,
    )
    return lease_until if updated else None


# ---------------------------------------------------------------------------------------
# Processing
# ---------------------------------------------------------------------------------------


def _schedule_slot(delivery: Delivery) -> int:
    """How many schedule-counted failures came before (429s do not count: they say when)."""
    return (
        DeliveryAttempt.objects.filter(delivery=delivery, outcome=DeliveryAttempt.Outcome.RETRY)
        .exclude(error_kind="rate_limited")
        .count()
    )


#: After the schedule is spent, a try whose outcome is unknown gets this many more tries
#: that only look for the run (never launch), before failing as "unknown".
FINAL_LOOKUPS = 3


def _retry_or_fail(
    delivery: Delivery, *, kind: str, message: str, unknown: bool, **kw: Any
) -> Outcome:
    schedule = retry_schedule()
    slot = _schedule_slot(delivery)
    if slot >= len(schedule) and unknown and slot < len(schedule) + FINAL_LOOKUPS:
        # Never give up on a launch that may have worked without looking for its run.
        return Outcome(
            status=Delivery.Status.RETRYING,
            attempt_outcome=DeliveryAttempt.Outcome.RETRY,
            error_kind=kind,
            error_message=f"{message}; one last look for the run before giving up",
            next_attempt_at=timezone.now()
            + timedelta(seconds=float(schedule[0] if schedule else 30)),
            outcome_unknown=True,
            **kw,
        )
    if slot >= len(schedule):
        doubt = (
            f" Whether Tallyfy made the run is unknown: search its processes for "
            f"“{delivery.marker}” before retrying."
            if unknown
            else ""
        )
        return Outcome(
            status=Delivery.Status.FAILED,
            attempt_outcome=DeliveryAttempt.Outcome.FAILED,
            error_kind=kind,
            error_message=f"{message} (gave up after {slot + 1} tries){doubt}",
            outcome_unknown=unknown,
            **kw,
        )
    return Outcome(
        status=Delivery.Status.RETRYING,
        attempt_outcome=DeliveryAttempt.Outcome.RETRY,
        error_kind=kind,
        error_message=message,
        next_attempt_at=timezone.now() + timedelta(seconds=float(schedule[slot])),
        outcome_unknown=unknown,
        **kw,
    )


def _needs_check(delivery: Delivery, found: adoption.Lookup, body: dict[str, Any]) -> Outcome:
    """A try whose earlier outcome is unknown, with no run found and no way of finding runs
    known to work here (or several runs alike): staff decide."""
    org = delivery.mapping.tallyfy_connection.external_id
    candidates = [
        {
            "id": run.id,
            "name": run.name or "",
            "created_at": run.created_at.isoformat() if run.created_at else "",
            "url": run_url(org, run.id),
        }
        for run in found.candidates[: adoption.MAX_CANDIDATES]
    ]
    why = (
        f"{len(candidates)} run(s) of the template could be it"
        if candidates
        else "no run of the template could be it"
    )
    return Outcome(
        status=Delivery.Status.NEEDS_CHECK,
        attempt_outcome=DeliveryAttempt.Outcome.NEEDS_CHECK,
        error_kind="needs_check",
        error_message=(
            "Tallyfy may have created this run: its answer to an earlier try never came, "
            "and Kickoff could not find the run by its reference "
            f"({why}). Check Tallyfy, then use the right run or launch."
        ),
        outcome_unknown=True,
        request_body=body,
        candidates=candidates,
    )


def _skipped(delivery: Delivery) -> Outcome | None:
    """The outcome of a delivery its mapping's launch rules don't take; None if taken.

    A delivery whose earlier try may have launched is never skipped: that run may exist
    and is looked for first.
    """
    if delivery.outcome_unknown:
        return None
    routing = delivery_route(delivery)
    return None if routing.taken else skipped(routing)


def _try(delivery: Delivery, attempt: DeliveryAttempt) -> Outcome:
    """One try, from encoding to the vendor's answer. Writes `outcome_unknown` as it goes."""
    skipped = _skipped(delivery)
    if skipped is not None:
        return skipped
    if delivery.mapping.kind == Mapping.Kind.COMPLETE_TASK:
        return task_try(delivery, attempt, retry_or_fail=_retry_or_fail)
    tallyfy = delivery.mapping.tallyfy_connection
    # Until the launch is sent, an error leaves the earlier state as it was (a failed
    # look-up proves nothing); once it is sent, only a definite answer clears it.
    posted = False
    body: dict[str, Any] | None = None

    def unknown_unless_definite() -> bool:
        return False if posted else delivery.outcome_unknown

    try:
        # Inside the try: people rules may read Tallyfy's members first.
        plan = delivery_build(delivery)
        body = plan.body
        attempt.request_body = body
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(request_body=body)
        if plan.blocking:
            return Outcome(
                status=Delivery.Status.FAILED,
                attempt_outcome=DeliveryAttempt.Outcome.FAILED,
                error_kind="validation",
                error_message="\n".join(p.message for p in plan.blocking),
                outcome_unknown=delivery.outcome_unknown,
                request_body=body,
            )
        if delivery.outcome_unknown:
            # Read once: connection_call may run the look-up again after a token refresh.
            markers = adoption.delivery_markers_sent(delivery)
            since = adoption.delivery_first_unknown_at(delivery)
            taken = adoption.runs_owned_by_others(delivery, since=since)
            found = connection_call(
                tallyfy,
                lambda c: adoption.run_lookup(
                    c,
                    checklist_id=body["checklist_id"],
                    markers=markers,
                    name=str(body.get("name") or ""),
                    prerun=body.get("prerun") or {},
                    since=since,
                    taken=taken,
                ),
            )
            if found.run is not None:
                log.info(
                    "delivery %s adopted run %s launched by an earlier try (%s)",
                    delivery.pk,
                    found.run.id,
                    adoption.HOW[found.how],
                    extra=_log_extra(delivery, run_id=found.run.id),
                )
                return succeeded(found.run, adopted=True, body=body)
            verified = contract.check_state(tallyfy, contract.RUN_LOOKUP) == "verified"
            if found.ambiguous or not verified:
                # Not found, but nothing says it would have been: never relaunch blindly.
                return _needs_check(delivery, found, body)
            spent = _schedule_slot(delivery)
            if attempt.trigger == DeliveryAttempt.Trigger.AUTO and spent > len(retry_schedule()):
                return Outcome(
                    status=Delivery.Status.FAILED,
                    attempt_outcome=DeliveryAttempt.Outcome.FAILED,
                    error_kind="gave_up",
                    error_message=(
                        f"Gave up after {spent} tries; Tallyfy has no run carrying "
                        f"“{delivery.marker}”, so none was made."
                    ),
                    request_body=body,
                )
        # From here until a definite answer, a retry must look before launching: set
        # before sending, so a worker killed mid-call leaves it set.
        Delivery.objects.filter(pk=delivery.pk).update(outcome_unknown=True)
        posted = True
        run = connection_call(tallyfy, lambda c: c.launch_run(body))
        deadline_outcome(tallyfy, body)
        return succeeded(run, adopted=False, body=body, warnings=plan.problems)
    except NeedsReconnect as exc:
        return Outcome(
            status=Delivery.Status.HELD,
            attempt_outcome=DeliveryAttempt.Outcome.HELD,
            error_kind="needs_reconnect",
            error_message=f"{exc.reason} Held until the Tallyfy connection is reconnected.",
            outcome_unknown=unknown_unless_definite(),
            request_body=body,
        )
    except RateLimited as exc:
        wait = exc.retry_after if exc.retry_after is not None else retry_schedule()[0]
        return Outcome(
            status=Delivery.Status.RETRYING,
            attempt_outcome=DeliveryAttempt.Outcome.RETRY,
            error_kind="rate_limited",
            error_message=f"{exc} (retrying in {wait:g} s as Retry-After asks)",
            response_status=exc.status,
            response_body=keep(exc.body),
            next_attempt_at=timezone.now() + timedelta(seconds=max(wait, 0.0)),
            outcome_unknown=unknown_unless_definite(),
            request_body=body,
        )
    except OutcomeUnknown as exc:
        return _retry_or_fail(
            delivery,
            kind="outcome_unknown",
            message=f"{exc} (the run may exist: the next try looks it up before launching)",
            unknown=True if posted else delivery.outcome_unknown,
            response_status=exc.status,
            response_body=keep(exc.body),
            request_body=body,
        )
    except Invalid as exc:
        if deadline_outcome(tallyfy, body or {}, field_errors=exc.field_errors):
            # Refused before anything was made: the next try sends the other format.
            return _retry_or_fail(
                delivery,
                kind="deadline_format",
                message=f"Tallyfy refused the deadline format: {exc}",
                unknown=False,
                response_status=exc.status,
                response_body=keep(exc.body),
                request_body=body,
            )
        return Outcome(
            status=Delivery.Status.FAILED,
            attempt_outcome=DeliveryAttempt.Outcome.FAILED,
            error_kind="rejected",
            error_message=field_messages(exc.field_errors, delivery.mapping_version) or str(exc),
            response_status=exc.status,
            response_body=keep(exc.body),
            outcome_unknown=unknown_unless_definite(),
            request_body=body,
        )
    except ApiError as exc:
        if exc.retryable:  # 503, connect errors, token endpoint down
            return _retry_or_fail(
                delivery,
                kind="unavailable",
                message=str(exc),
                unknown=unknown_unless_definite(),
                response_status=exc.status,
                response_body=keep(exc.body),
                request_body=body,
            )
        return Outcome(
            status=Delivery.Status.FAILED,
            attempt_outcome=DeliveryAttempt.Outcome.FAILED,
            error_kind=f"http_{exc.status}" if exc.status else "rejected",
            error_message=str(exc),
            response_status=exc.status,
            response_body=keep(exc.body),
            outcome_unknown=unknown_unless_definite(),
            request_body=body,
        )


def attempt_next_number(delivery: Delivery) -> int:
    """The number the delivery's next attempt takes (attempts are numbered from 1)."""
    last = (
        DeliveryAttempt.objects.filter(delivery=delivery)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return (last or 0) + 1


def delivery_process(
    delivery_id: int,
    *,
    trigger: str = DeliveryAttempt.Trigger.AUTO,
    user=None,
    use_current_version: bool = False,
) -> Delivery | None:
    """Make one try at a delivery if it can be claimed; returns it afterwards (None: not
    claimed, someone else has it or it is not due)."""
    lease = _claim(delivery_id, trigger)
    if lease is None:
        return None
    delivery = Delivery.objects.select_related(
        "submission", "mapping", "mapping__tallyfy_connection", "mapping_version"
    ).get(pk=delivery_id)
    current = delivery.mapping.current_version_id
    if use_current_version and current and current != delivery.mapping_version_id:
        Delivery.objects.filter(pk=delivery.pk).update(mapping_version_id=current)
        delivery.mapping_version = MappingVersion.objects.get(pk=current)
    _close_abandoned_attempts(delivery)
    number = attempt_next_number(delivery)
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        mapping_version_id=delivery.mapping_version_id,
        trigger=trigger,
        triggered_by=user if getattr(user, "is_authenticated", False) else None,
        started_at=timezone.now(),
    )
    log.info(
        "delivery %s: try %s (%s)",
        delivery.pk,
        number,
        trigger,
        extra=_log_extra(delivery, attempt=number, trigger=trigger),
    )
    started = time.monotonic()
    try:
        outcome = _try(delivery, attempt)
    except Exception as exc:  # a bug or a time limit: the try must still be recorded
        log.exception(
            "delivery %s: try %s crashed", delivery.pk, number, extra=_log_extra(delivery)
        )
        unknown = (
            Delivery.objects.filter(pk=delivery.pk)
            .values_list("outcome_unknown", flat=True)
            .first()
        )
        outcome = _retry_or_fail(
            delivery,
            kind="internal",
            message=f"{type(exc).__name__}: {keep(str(exc), 500)}",
            unknown=bool(unknown),
            request_body=attempt.request_body,
        )
    duration_ms = int((time.monotonic() - started) * 1000)
    _finish(delivery, attempt, outcome, lease=lease, duration_ms=duration_ms)
    launched = outcome.attempt_outcome == DeliveryAttempt.Outcome.SUCCEEDED
    if outcome.run is not None and launched and delivery.mapping.kind == Mapping.Kind.LAUNCH:
        adoption.lookup_verify_if_due(
            delivery.mapping.tallyfy_connection,
            run=outcome.run,
            body=outcome.request_body or {},
            since=attempt.started_at,
        )
    delivery.refresh_from_db()
    return delivery


def delivery_process_queued(delivery_id: int) -> Delivery | None:
    """What the `deliver` task runs: one automatic try, and if another worker holds the
    lease, one more look when that lease ends (it may belong to a worker that died:
    a task redelivered after a SIGKILL arrives while the dead worker's lease still runs)."""
    result = delivery_process(delivery_id)
    if result is None:
        now = timezone.now()
        row = Delivery.objects.filter(pk=delivery_id).values("status", "lease_until").first()
        if row and row["status"] == Delivery.Status.SENDING and row["lease_until"]:
            wait = (row["lease_until"] - now).total_seconds()
            if wait > 0:
                deliveries_enqueue([delivery_id], countdown=wait + 1.0)
    return result


def _close_abandoned_attempts(delivery: Delivery) -> None:
    """Attempts left open by a worker that died mid-try get a visible outcome."""
    DeliveryAttempt.objects.filter(delivery=delivery, finished_at__isnull=True).update(
        finished_at=timezone.now(),
        outcome=DeliveryAttempt.Outcome.UNKNOWN,
        error_kind="worker_lost",
        error_message=(
            "The worker stopped during this try (killed or timed out); "
            "the next try looked for the run before launching."
        ),
    )


def _finish(
    delivery: Delivery, attempt: DeliveryAttempt, outcome: Outcome, *, lease, duration_ms: int
) -> None:
    now = timezone.now()
    updates: dict[str, Any] = {
        "status": outcome.status,
        "lease_until": None,
        "next_attempt_at": outcome.next_attempt_at,
        "outcome_unknown": outcome.outcome_unknown,
        "last_status_code": outcome.response_status,
        "last_error": outcome.error_message,
        "candidates": outcome.candidates or [],
        "updated_at": now,
    }
    if outcome.run is not None:
        org = delivery.mapping.tallyfy_connection.external_id
        # A success keeps only what staff should still read (a warning, a task that was
        # already complete); errors of earlier tries are gone.
        kept = outcome.error_kind in ("warnings", "already_complete")
        updates.update(
            run_id=outcome.run.id,
            run_url=run_url(org, outcome.run.id),
            last_error=outcome.error_message if kept else "",
        )
    if outcome.task_id:
        updates["task_id"] = outcome.task_id
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now,
            duration_ms=duration_ms,
            request_body=outcome.request_body,
            response_status=outcome.response_status,
            response_body=outcome.response_body,
            outcome=outcome.attempt_outcome,
            error_kind=outcome.error_kind,
            error_message=outcome.error_message,
        )
        # Only the owner of this lease may write the result (a live worker never outlives
        # its lease; this is the belt to that brace).
        owned = Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.SENDING, lease_until=lease
        ).update(**updates)
        if not owned:
            log.error(
                "delivery %s: lease lost before the result was written",
                delivery.pk,
                extra=_log_extra(delivery),
            )
            return
        if outcome.status == Delivery.Status.RETRYING and outcome.next_attempt_at:
            delay = (outcome.next_attempt_at - now).total_seconds()
            if delay <= ETA_MAX_SECONDS:
                _enqueue_on_commit([delivery.pk], countdown=max(delay, 0.0))
    quiet = (Delivery.Status.SUCCEEDED, Delivery.Status.SKIPPED, Delivery.Status.ROUTED)
    level = logging.INFO if outcome.status in quiet else logging.WARNING
    log.log(
        level,
        "delivery %s: try %s %s%s",
        delivery.pk,
        attempt.number,
        outcome.attempt_outcome,
        f" ({outcome.error_kind}: {outcome.error_message.splitlines()[0][:200]})"
        if outcome.error_message
        else "",
        extra=_log_extra(
            delivery,
            attempt=attempt.number,
            outcome=outcome.attempt_outcome,
            error_kind=outcome.error_kind,
            duration_ms=duration_ms,
            run_id=outcome.run.id if outcome.run else None,
        ),
    )
    if outcome.status == Delivery.Status.FAILED:
        delivery_failure_email(delivery, message=outcome.error_message)
    elif outcome.status == Delivery.Status.HELD:
        delivery_resume_if_reconnected(delivery)
