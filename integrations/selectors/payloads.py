"""A form's stored webhook bodies, newest first, as the mapping builder learns fields from
them (`integrations.tally.learned`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from ..models import Endpoint, Submission

log = logging.getLogger(__name__)

#: How many of a form's newest stored bodies the builder reads: enough to have seen every
#: option a busy form uses lately, few enough to parse on every builder open.
PAYLOADS_READ = 50

#: How long "Listen for a test submission" keeps the builder waiting for one.
LISTEN_SECONDS = 30 * 60


def form_payloads(
    *, tally_connection_id: int, form_id: str, limit: int = PAYLOADS_READ
) -> list[dict[str, Any]]:
    """The newest `limit` stored FORM_RESPONSE bodies of the form, parsed; a body that is
    not a JSON object is skipped (the raw body is stored verbatim, whatever arrived)."""
    rows = (
        Submission.objects.filter(
            tally_connection_id=tally_connection_id,
            form_id=form_id,
            # Webhook bodies as Tally sent them, and reconcile's (built from the same
            # webhook shape); a backfill's body is Kickoff's own rebuild from REST.
            source__in=(Submission.Source.WEBHOOK, Submission.Source.RECONCILE),
        )
        .order_by("-received_at", "-pk")
        .values_list("pk", "raw_body")[:limit]
    )
    out = []
    for pk, raw in rows:
        try:
            body = json.loads(bytes(raw))
        except (ValueError, TypeError):
            log.warning("stored submission %s is not JSON; not learned from", pk)
            continue
        if isinstance(body, dict):
            out.append(body)
    return out


def stored_payload(*, form_id: str, submission_id: str) -> dict[str, Any] | None:
    """The stored webhook body of one submission, parsed; None when Kickoff has none."""
    raw = (
        Submission.objects.filter(
            form_id=form_id,
            submission_id=submission_id,
            source__in=(Submission.Source.WEBHOOK, Submission.Source.RECONCILE),
        )
        .values_list("raw_body", flat=True)
        .first()
    )
    if raw is None:
        return None
    try:
        body = json.loads(bytes(raw))
    except (ValueError, TypeError):
        return None
    return body if isinstance(body, dict) else None


@dataclass(frozen=True)
class Listening:
    """Where "Listen for a test submission" stands for one form."""

    until: datetime | None  # set while listening
    received: int  # submissions stored since listening started
    stored: int  # submissions of the form stored in all

    @property
    def active(self) -> bool:
        return self.until is not None


def form_listening(*, tally_connection_id: int, form_id: str) -> Listening:
    """Whether the form's endpoint is listening now, and what it has stored."""
    rows = Submission.objects.filter(tally_connection_id=tally_connection_id, form_id=form_id)
    until = (
        Endpoint.objects.filter(tally_connection_id=tally_connection_id, form_id=form_id)
        .values_list("listening_until", flat=True)
        .first()
    )
    if until is None or until <= timezone.now():
        return Listening(until=None, received=0, stored=rows.count())
    since = until - timedelta(seconds=LISTEN_SECONDS)
    return Listening(
        until=until, received=rows.filter(received_at__gte=since).count(), stored=rows.count()
    )


def stored_submission(*, form_id: str, submission_id: str) -> Submission | None:
    """The stored submission as its webhook (or reconcile) brought it; None when Kickoff
    has none (a backfill's body is Kickoff's own rebuild, not what a delivery reads)."""
    return (
        Submission.objects.filter(
            form_id=form_id,
            submission_id=submission_id,
            source__in=(Submission.Source.WEBHOOK, Submission.Source.RECONCILE),
        )
        .order_by("-received_at", "-pk")
        .first()
    )
