"""One delivery's story in order: received → each try → retry scheduled → cancelled or
retried by whom → where it stands now. Every badge is worked out here from the same facts
(the attempts, the staff actions, the delivery's state), so no two parts of the page can
disagree: a try that said "Will retry" says what became of that retry once it is known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from integrations.explain import Explanation, explain
from integrations.models import AuditEvent, Delivery, DeliveryAttempt

Outcome = DeliveryAttempt.Outcome
Status = Delivery.Status


@dataclass
class Entry:
    kind: str  # received | attempt | action | scheduled | now
    at: datetime | None
    title: str
    badge: str = ""  # the badge's words ("" for none)
    tone: str = ""  # ok | bad | warn | info | "" (the badge's colour)
    who: str = ""
    attempt: DeliveryAttempt | None = None
    explanation: Explanation | None = None
    note: str = ""


def attempt_badge(
    attempt: DeliveryAttempt, delivery: Delivery, *, is_last: bool
) -> tuple[str, str]:
    """(words, tone) of a try's badge, given what happened after it."""
    outcome = attempt.outcome
    if outcome == Outcome.SUCCEEDED:
        return "Succeeded", "ok"
    if outcome == Outcome.ADOPTED:
        return "Found its earlier run", "ok"
    if outcome == Outcome.ALREADY_COMPLETE:
        return "Task already complete", "warn"
    if outcome in (Outcome.SKIPPED, Outcome.ROUTED):
        return attempt.get_outcome_display(), ""
    if attempt.error_kind == "validation":
        return "Not sent", "bad"
    if outcome == Outcome.RETRY:
        if not is_last:
            return "Failed · tried again", "bad"
        if delivery.status == Status.RETRYING:
            return "Will retry", "warn"
        if delivery.status == Status.CANCELLED:
            return "Failed · retry cancelled", "bad"
        if delivery.status in (Status.PENDING, Status.SENDING):
            return "Failed · retrying now", "bad"
        return "Failed", "bad"
    if outcome == Outcome.FAILED:
        return "Failed", "bad"
    if outcome in (Outcome.HELD, Outcome.UNKNOWN, Outcome.NEEDS_CHECK):
        return attempt.get_outcome_display(), "warn"
    if not outcome:
        return (
            ("In progress", "info") if delivery.status in Delivery.IN_FLIGHT else ("Unfinished", "")
        )
    return attempt.get_outcome_display(), ""


def _actor(event: AuditEvent) -> str:
    return event.actor.get_username() if event.actor else "system"


def _action_title(event: AuditEvent) -> str:
    data = event.data or {}
    if event.action == "delivery.retried":
        which = "the current version" if data.get("use_current_version") else "the version it used"
        return f"Retried with {which}"
    if event.action == "delivery.retry_cancelled":
        return "Scheduled retry cancelled"
    if event.action == "delivery.retried_now":
        return "Retried now instead of waiting"
    return event.summary


def _now_entry(d: Delivery) -> Entry | None:
    """Where the delivery stands now, as the timeline's last line."""
    if d.status == Status.RETRYING:
        return Entry(
            kind="scheduled",
            at=d.next_attempt_at,
            title="Next automatic try scheduled",
            badge="Retrying",
            tone="warn",
        )
    if d.status == Status.PENDING:
        return Entry(
            kind="now", at=None, title="Waiting for a worker", badge="Pending", tone="info"
        )
    if d.status == Status.SENDING:
        return Entry(kind="now", at=None, title="Sending now", badge="Sending", tone="info")
    if d.status == Status.SUCCEEDED:
        return Entry(kind="now", at=d.updated_at, title="Done", badge="Succeeded", tone="ok")
    if d.status == Status.FAILED:
        return Entry(
            kind="now", at=d.updated_at, title="Stopped: needs staff", badge="Failed", tone="bad"
        )
    if d.status == Status.CANCELLED:
        return Entry(kind="now", at=d.updated_at, title="Nothing is scheduled", badge="Cancelled")
    if d.status == Status.HELD:
        return Entry(
            kind="now",
            at=d.updated_at,
            title="Held until Tallyfy is reconnected",
            badge="Held",
            tone="warn",
        )
    if d.status == Status.NEEDS_CHECK:
        return Entry(
            kind="now",
            at=d.updated_at,
            title="Waiting for staff to check Tallyfy",
            badge="Needs a check",
            tone="warn",
        )
    return Entry(kind="now", at=d.updated_at, title="Not sent", badge=d.get_status_display())


def delivery_timeline(
    d: Delivery, attempts: list[DeliveryAttempt], audit: list[AuditEvent]
) -> list[Entry]:
    """The entries, oldest first; `audit` in any order."""
    current = d.mapping.current_version_id
    entries: list[tuple[tuple, Entry]] = []
    for event in audit:
        entry = Entry(
            kind="action", at=event.created_at, title=_action_title(event), who=_actor(event)
        )
        # A staff action comes before the try it caused, even within the same instant.
        entries.append(((event.created_at, 1, event.pk), entry))
    for i, a in enumerate(attempts):
        words, tone = attempt_badge(a, d, is_last=i == len(attempts) - 1)
        who = a.get_trigger_display()
        if a.triggered_by:
            who = f"{who} by {a.triggered_by.get_username()}"
        explanation = None
        if a.error_message or a.error_kind:
            explanation = explain(
                a.error_kind,
                a.error_message,
                a.response_status,
                mapping_kind=d.mapping.kind,
                version_current=bool(current) and a.mapping_version_id == current,
            )
        entries.append(
            (
                (a.started_at, 2, a.number),
                Entry(
                    kind="attempt",
                    at=a.started_at,
                    title=f"Try {a.number}",
                    badge=words,
                    tone=tone,
                    who=who,
                    attempt=a,
                    explanation=explanation,
                ),
            )
        )
    entries.sort(key=lambda pair: pair[0])
    # Received comes first by definition (clocks of the web and worker hosts may differ).
    received = d.submission.received_at
    out = [Entry(kind="received", at=received, title="Received from Tally")]
    out += [e for _, e in entries]
    now = _now_entry(d)
    if now is not None:
        out.append(now)
    return out
