"""Adoption: finding the run an earlier try may have launched, so it is never launched twice.

Tallyfy has no idempotency key. Every launch carries the delivery's marker in its summary
(`Kickoff reference: …`); a try after one whose outcome is unknown (timeout, dropped
connection, killed worker) looks for a run carrying one of the markers the delivery sent
and adopts it instead of launching again (`integrations.delivery`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from . import engine
from .models import Delivery, DeliveryAttempt
from .tallyfy.client import Run

#: How far back (before the first unknown attempt) the marker scan looks at runs.
ADOPT_SCAN_MARGIN = timedelta(minutes=10)
ADOPT_SCAN_MAX_PAGES = 5


def run_find_by_marker(
    client, *, checklist_id: str, markers: list[str], since: datetime | None
) -> Run | None:
    """The run a launch carrying one of `markers` created, if any.

    Search first (`q`); the sandbox and, we expect, Tallyfy search the summary. As that
    is a [guess] for Tallyfy, fall back to scanning the template's newest runs back to
    shortly before the first unknown try. Markers are compared exactly: a search for
    `…-1` also finds `…-12`.
    """
    for marker in markers:
        page = client.find_runs(checklist_id=checklist_id, q=marker, per_page=25)
        for run in page.items:
            if engine.find_marker(run.summary) == marker:
                return run
    horizon = (since - ADOPT_SCAN_MARGIN) if since else None
    for number in range(1, ADOPT_SCAN_MAX_PAGES + 1):
        page = client.find_runs(checklist_id=checklist_id, per_page=100, page=number)
        for run in page.items:
            if engine.find_marker(run.summary) in markers:
                return run
        oldest = min((r.created_at for r in page.items if r.created_at), default=None)
        if not page.has_more or (horizon and oldest and oldest < horizon):
            break
    return None


def delivery_markers_sent(delivery: Delivery) -> list[str]:
    """What to look for: the delivery's marker, and any other an earlier try really
    sent (a launch from before this install had a key carried `kickoff-delivery-<id>`).
    Only markers this delivery sent, so another install's runs are never adopted."""
    markers = [delivery.marker]
    bodies = DeliveryAttempt.objects.filter(delivery=delivery).values_list(
        "request_body", flat=True
    )
    for body in bodies:
        sent = engine.find_marker(body.get("summary")) if isinstance(body, dict) else None
        if sent and sent not in markers:
            markers.append(sent)
    return markers


def delivery_first_unknown_at(delivery: Delivery) -> datetime | None:
    """When the first try whose outcome is unknown started (None: no such try)."""
    return (
        DeliveryAttempt.objects.filter(delivery=delivery)
        .filter(Q(outcome=DeliveryAttempt.Outcome.UNKNOWN) | Q(outcome=""))
        .order_by("number")
        .values_list("started_at", flat=True)
        .first()
    )
