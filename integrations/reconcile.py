"""Reconcile: what Tally has but Kickoff never received, and Tally's own delivery log.

Every 15 minutes (beat) `reconcile_enabled_mappings` pages Tally's webhook delivery log
and its submissions for each enabled form and ingests what is missing, through the same
ingest as the webhook (`integrations.ingest`), so nothing is stored or launched twice.
Staff see the same log per mapping, and may ask Tally to redeliver one event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from . import contract
from .audit import audit_record
from .connections import NeedsReconnect, connection_call
from .contract import check_record
from .endpoints import skipped_before
from .http import ApiError
from .ingest import submission_ingest
from .models import Connection, Endpoint, Mapping, Submission, WebhookState
from .tally import webhook as tally_webhook
from .tally.answers import answers_from_submission
from .tally.shapes import TallySubmission

log = logging.getLogger(__name__)


class RedeliverError(Exception):
    """Tally could not be asked to redeliver an event (with a message for staff)."""


# ---------------------------------------------------------------------------------------
# Ingesting what never arrived
# ---------------------------------------------------------------------------------------

#: Tally retries a failed webhook for about 31 hours before it drops it; look that far
#: back (plus a margin) in its delivery log on each reconcile.
EVENT_LOG_LOOKBACK = timedelta(hours=36)
EVENT_LOG_MAX_PAGES = 40
#: Submissions are listed by date window, never by `afterId`: its direction is unstated
#: (docs/vendor-notes.md, "Where the sources disagree"). Each run re-reads this much before
#: the watermark, so a submission Tally lists late is still found.
SUBMISSION_OVERLAP = timedelta(hours=1)
SUBMISSION_WINDOW = timedelta(days=1)
#: Pages one run may read; a larger backlog is finished by the next runs, never skipped.
SUBMISSION_MAX_PAGES = 20
SUBMISSION_PAGE_SIZE = 500
_SECOND = timedelta(seconds=1)


@dataclass
class Reconciled:
    seen: int = 0
    ingested: int = 0
    duplicates: int = 0
    skipped: int = 0
    # False when the page budget ran out before now: the watermark waits at the first
    # window not read completely.
    caught_up: bool = True
    event_log_error: str = ""


def reconcile_mapping(mapping: Mapping) -> Reconciled:
    """Ingest what Tally has but Kickoff never received, for the mapping's form.

    Two sources, both through the receiver's ingest (source = reconcile), both deduped on
    `(formId, submissionId)` as the receiver is, so nothing is ever stored or launched
    twice: Tally's webhook delivery log (FAILED/DROPPED events: the envelope as it was
    signed), then Tally's completed submissions by date window from the endpoint's
    watermark, for anything the log does not show. A log Tally will not give does not
    stop the second.
    """
    endpoint = _endpoint(mapping)
    result = Reconciled()
    if endpoint is None:
        return result
    connection = mapping.tally_connection
    source = "reconcile"

    def ingest(envelope: dict[str, Any]) -> None:
        raw = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            response = tally_webhook.parse_form_response(envelope)
        except tally_webhook.BadEnvelope as exc:
            result.skipped += 1
            log.warning("reconcile: skipped an unreadable Tally event: %s", exc.reason)
            return
        if response.form_id != endpoint.form_id:
            result.skipped += 1
            return
        result.seen += 1
        outcome = submission_ingest(
            endpoint=endpoint, response=response, raw_body=raw, source=source
        )
        if outcome.created:
            result.ingested += 1
        else:
            result.duplicates += 1

    # A webhook seen missing took its log with it: a 404 there says nothing of the log.
    if endpoint.tally_webhook_id and endpoint.webhook_state != WebhookState.MISSING:
        try:
            _reconcile_event_log(connection, endpoint, ingest, skipped_before(mapping))
        except ApiError as exc:
            # The log is not in Tally's API reference (docs/vendor-notes.md): without it
            # the submissions below still recover everything, only later.
            result.event_log_error = str(exc)
            check_record(
                connection,
                contract.EVENT_LOG,
                held=False,
                detail=f"Tally answered {exc.status or 'an error'} to "
                f"GET /webhooks/{endpoint.tally_webhook_id}/events (form {mapping.form_id}): "
                f"{exc.message}",
            )
            log.warning("reconcile of mapping %s: no event log: %s", mapping.pk, exc)
        else:
            check_record(connection, contract.EVENT_LOG, held=True)

    _reconcile_submissions(mapping, endpoint, ingest, result)
    log.info(
        "reconciled mapping %s: %d seen, %d ingested, %d already here",
        mapping.pk,
        result.seen,
        result.ingested,
        result.duplicates,
        extra={"mapping_id": mapping.pk},
    )
    return result


Ingest = Callable[[dict[str, Any]], None]


def _reconcile_event_log(
    connection: Connection, endpoint: Endpoint, ingest: Ingest, floor: datetime | None = None
) -> None:
    """The webhook delivery log, newest first, back to the lookback horizon (and never
    past `floor`, the moment the operator chose to skip what came before)."""
    horizon = timezone.now() - EVENT_LOG_LOOKBACK
    if floor is not None:
        horizon = max(horizon, floor)
    for number in range(1, EVENT_LOG_MAX_PAGES + 1):
        page = connection_call(
            connection, lambda c, n=number: c.list_webhook_events(endpoint.tally_webhook_id, n)
        )
        for event in page.items:
            skipped = floor is not None and (event.created_at is None or event.created_at < floor)
            failed = event.delivery_status in ("FAILED", "DROPPED")
            if failed and isinstance(event.payload, dict) and not skipped:
                ingest(event.payload)
        oldest = min((e.created_at for e in page.items if e.created_at), default=None)
        if not page.has_more or (oldest and oldest < horizon):
            break


def _reconcile_submissions(
    mapping: Mapping, endpoint: Endpoint, ingest: Ingest, result: Reconciled
) -> None:
    """Completed submissions by date window from the watermark (minus the overlap) to now.

    The watermark moves only past windows read to their last page; the first time it is
    the endpoint's creation (older submissions were never meant to launch anything).
    """
    connection = mapping.tally_connection
    questions = mapping.current_version.form_questions if mapping.current_version else []
    # Whole seconds (Tally's timestamps have milliseconds, and a bound it rounds must not
    # make a submission look outside the window), rounded up so this second is read too.
    now = timezone.now().replace(microsecond=0) + _SECOND
    since = endpoint.reconcile_since or endpoint.created_at
    start = (since - SUBMISSION_OVERLAP).replace(microsecond=0)
    floor = skipped_before(mapping)
    if floor is not None:
        # Re-enabled skipping what arrived while it was off: never read back past that.
        rounded_up = floor.replace(microsecond=0) + (_SECOND if floor.microsecond else timedelta())
        start = max(start, rounded_up)
    watermark = endpoint.reconcile_since
    handled: set[str] = set()
    outside: list[str] = []
    answered = False
    budget = SUBMISSION_MAX_PAGES
    while start < now:
        end = min(start + SUBMISSION_WINDOW, now)
        fetched: list[TallySubmission] = []
        number, complete = 1, False
        while budget > 0:
            budget -= 1
            page = connection_call(
                connection,
                lambda c, n=number, a=start, b=end: c.list_submissions(
                    mapping.form_id,
                    page=n,
                    limit=SUBMISSION_PAGE_SIZE,
                    filter="completed",
                    start_date=a,
                    end_date=b,
                ),
            )
            answered = True
            questions = questions or [q.raw for q in page.questions]
            for sub in page.items:
                if sub.submitted_at and not start <= sub.submitted_at <= end + _SECOND:
                    # Its own window reads it; here it could predate the endpoint.
                    outside.append(sub.id)
                else:
                    fetched.append(sub)
            if not page.has_more:
                complete = True
                break
            number += 1
        fresh = [s for s in fetched if s.id not in handled]
        handled.update(s.id for s in fresh)
        known = set(_known_submission_ids(mapping.form_id, [s.id for s in fresh]))
        for sub in sorted(fresh, key=lambda s: (s.submitted_at or now, s.id)):
            if sub.id in known:
                result.seen += 1
                result.duplicates += 1
            else:
                ingest(_envelope_from_submission(mapping, sub, questions))
        if not complete:
            result.caught_up = False
            log.warning(
                "reconcile of mapping %s: backlog from %s is larger than one run reads",
                mapping.pk,
                start.isoformat(),
            )
            break
        watermark, start = end, end
    if answered:
        if outside:
            check_record(
                connection,
                contract.SUBMISSION_WINDOWS,
                held=False,
                detail=f"Tally listed {len(outside)} submission(s) of form {mapping.form_id} "
                f"outside the dates asked (e.g. {outside[0]}); each is read in its own window.",
            )
        else:
            check_record(connection, contract.SUBMISSION_WINDOWS, held=True)
    # The old `afterId` cursor is dropped: nothing reads it, and a cursor Tally refuses
    # could otherwise never break a run again.
    Endpoint.objects.filter(pk=endpoint.pk).update(
        reconcile_since=watermark, reconcile_after_id="", reconciled_at=timezone.now()
    )


def _known_submission_ids(form_id: str, ids: list[str]) -> Iterable[str]:
    for start in range(0, len(ids), 500):
        yield from Submission.objects.filter(
            form_id=form_id, submission_id__in=ids[start : start + 500]
        ).values_list("submission_id", flat=True)


def _envelope_from_submission(mapping: Mapping, sub, questions: list) -> dict[str, Any]:
    """A FORM_RESPONSE envelope rebuilt from a REST submission, in the webhook's keys
    (`eventId` `reconcile:<form>:<submission>`: it never had a real one)."""
    answers = answers_from_submission(sub, questions)
    fields = [
        {
            "key": a.key,
            "label": a.label,
            "type": a.type,
            "value": a.value,
            **({"options": [{"id": o.id, "text": o.text} for o in a.options]} if a.options else {}),
            **({"rows": [{"id": o.id, "text": o.text} for o in a.rows]} if a.rows else {}),
            **({"columns": [{"id": o.id, "text": o.text} for o in a.columns]} if a.columns else {}),
        }
        for a in answers
    ]
    submitted = sub.submitted_at.isoformat() if sub.submitted_at else None
    return {
        "eventId": f"reconcile:{mapping.form_id}:{sub.id}",
        "eventType": "FORM_RESPONSE",
        "createdAt": timezone.now().isoformat(),
        "data": {
            "responseId": sub.id,
            "submissionId": sub.id,
            "respondentId": getattr(sub, "respondent_id", None) or "",
            "formId": mapping.form_id,
            "formName": mapping.form_name,
            "createdAt": submitted,
            "fields": fields,
        },
    }


def reconcile_enabled_mappings() -> int:
    """Reconcile every form that has an enabled mapping (once per form). Returns how many
    submissions were ingested."""
    done: set[tuple[int, str]] = set()
    ingested = 0
    for mapping in Mapping.objects.filter(status=Mapping.Status.ENABLED).select_related(
        "tally_connection"
    ):
        key = (mapping.tally_connection_id, mapping.form_id)
        if key in done:
            continue
        done.add(key)
        try:
            ingested += reconcile_mapping(mapping).ingested
        except (NeedsReconnect, ApiError) as exc:
            log.warning("could not reconcile mapping %s: %s", mapping.pk, exc)
    return ingested


# ---------------------------------------------------------------------------------------
# Tally's side: its delivery log for our webhook, and redelivery
# ---------------------------------------------------------------------------------------


@dataclass
class TallyLogEvent:
    id: str
    delivery_status: str  # QUEUED | SUCCEEDED | FAILED | DROPPED
    status_code: int | None
    retry: int | None
    created_at: datetime | None
    submission_id: str
    in_kickoff: bool
    response: Any = None


@dataclass
class TallyLog:
    mapping: Mapping
    endpoint: Endpoint | None
    page: int = 1
    has_more: bool = False
    total: int | None = None
    events: list[TallyLogEvent] = field(default_factory=list)
    error: str = ""

    @property
    def webhook_id(self) -> str:
        return self.endpoint.tally_webhook_id if self.endpoint else ""


def _endpoint(mapping: Mapping) -> Endpoint | None:
    return Endpoint.objects.filter(
        tally_connection_id=mapping.tally_connection_id, form_id=mapping.form_id
    ).first()


def _event_submission_id(payload: Any) -> str:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return ""
    return str(data.get("submissionId") or data.get("responseId") or "")


def tally_delivery_log(mapping: Mapping, *, page: int = 1) -> TallyLog:
    """One page of Tally's delivery log for the mapping's webhook, newest first, each event
    marked with whether Kickoff has its submission."""
    endpoint = _endpoint(mapping)
    result = TallyLog(mapping=mapping, endpoint=endpoint, page=page)
    if endpoint is None or not endpoint.tally_webhook_id:
        result.error = "Kickoff has no Tally webhook for this form (enable the mapping first)."
        return result
    try:
        listed = connection_call(
            mapping.tally_connection,
            lambda c: c.list_webhook_events(endpoint.tally_webhook_id, page),
        )
    except NeedsReconnect as exc:
        result.error = f"The Tally connection needs reconnecting: {exc.reason}"
        return result
    except ApiError as exc:
        result.error = f"Tally did not give its delivery log: {exc}"
        return result
    ids = {_event_submission_id(e.payload) for e in listed.items} - {""}
    known = set(
        Submission.objects.filter(form_id=mapping.form_id, submission_id__in=ids).values_list(
            "submission_id", flat=True
        )
    )
    result.has_more, result.total = listed.has_more, listed.total
    for e in listed.items:
        sub = _event_submission_id(e.payload)
        result.events.append(
            TallyLogEvent(
                id=e.id,
                delivery_status=(e.delivery_status or "").upper(),
                status_code=e.status_code,
                retry=e.retry,
                created_at=e.created_at,
                submission_id=sub,
                in_kickoff=sub in known,
                response=e.response,
            )
        )
    return result


def tally_redeliver(mapping: Mapping, event_id: str, user) -> None:
    """Ask Tally to deliver one logged event to our webhook again (audited). Raises
    RedeliverError with a message for staff when it cannot."""
    endpoint = _endpoint(mapping)
    if endpoint is None or not endpoint.tally_webhook_id:
        raise RedeliverError("Kickoff has no Tally webhook for this form.")
    try:
        connection_call(
            mapping.tally_connection,
            lambda c: c.redeliver_event(endpoint.tally_webhook_id, event_id),
        )
    except NeedsReconnect as exc:
        raise RedeliverError(f"The Tally connection needs reconnecting: {exc.reason}") from exc
    except ApiError as exc:
        raise RedeliverError(f"Tally refused to redeliver: {exc}") from exc
    audit_record(
        actor=user,
        action="tally.event_redelivered",
        obj=mapping,
        summary=f"Asked Tally to redeliver event {event_id} of {mapping}"[:500],
        event_id=event_id,
        webhook_id=endpoint.tally_webhook_id,
    )
