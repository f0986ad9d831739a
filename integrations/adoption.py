"""Finding the run a launch made when Tallyfy's answer never came back.

Tallyfy has no idempotency key, so a launch that timed out may have created its run. Each
launch carries a marker in its summary; but neither `summary` at launch nor searching runs
is in Tallyfy's launch docs (docs/vendor-notes.md, "Where the sources disagree"). So a run
is looked for three ways, cheapest first, and the way that worked is recorded per
organization (integrations/contract.py). Where no way is known to work, a try whose
outcome is unknown is not relaunched: staff choose (Needs a check).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from .connections import NeedsReconnect, connection_call
from .contract import RUN_LOOKUP, SUMMARY_KEPT, check_get, check_record
from .engine import find_marker
from .http import ApiError
from .models import Delivery, DeliveryAttempt
from .tallyfy.shapes import Run

SEARCH = "search"
RECENT = "recent"
MATCH = "match"
HOW = {
    SEARCH: "found by searching runs for its Kickoff reference",
    RECENT: "found by reading the Kickoff reference in the template's newest runs",
    MATCH: "found by its name, kick-off values and creation time",
}
NOT_FOUND = "not found by a search, in the template's newest runs, or by name and values"

log = logging.getLogger(__name__)

#: How far before the first unknown try the template's runs are read (clock skew, queues).
MARGIN = timedelta(minutes=10)
#: Runs listed for staff on a delivery that needs a check.
MAX_CANDIDATES = 10
#: A verified way of finding runs is tried again after this long; a failed one sooner.
VERIFIED_FOR = timedelta(days=7)
FAILED_FOR = timedelta(hours=1)
#: Pages of 100 runs read at most; a template launching more than that in the window is
#: beyond what staff could check by hand anyway.
MAX_PAGES = 5


@dataclass(frozen=True)
class Lookup:
    """What a look-up found: the run and how, or the runs that might be it."""

    run: Run | None
    how: str = ""
    candidates: tuple[Run, ...] = field(default=())
    # Several runs alike, or more runs since the launch than one look-up reads: the run
    # may exist unseen, so "not found" proves nothing.
    ambiguous: bool = False


def _newest_runs(client, checklist_id: str, horizon: datetime | None, seen: dict) -> Iterator[Run]:
    """The template's runs, newest first, back to `horizon`; `seen["complete"]` says
    whether they reached it (False: more pages than MAX_PAGES were newer)."""
    seen["complete"] = False
    for number in range(1, MAX_PAGES + 1):
        page = client.find_runs(checklist_id=checklist_id, per_page=100, page=number)
        yield from page.items
        oldest = min((r.created_at for r in page.items if r.created_at), default=None)
        if not page.has_more or (horizon and oldest and oldest < horizon):
            seen["complete"] = True
            return


def _echoed(prerun: Any) -> dict[str, Any]:
    """Tallyfy's echo of a run's kick-off values as {field id: value}; it sends an object
    keyed by id or a list of fields with `id` and `value`."""
    if isinstance(prerun, Mapping):
        return dict(prerun)
    out = {}
    for item in prerun if isinstance(prerun, list) else []:
        if isinstance(item, Mapping) and item.get("id") is not None:
            out[str(item["id"])] = item.get("value")
    return out


def values_agree(sent: Mapping[str, Any], echoed: Any) -> bool:
    """Whether every text value sent is echoed unchanged (values Tallyfy reshapes, such as
    dates and options, and values it does not echo at all, are not compared)."""
    back = _echoed(echoed)
    return all(
        str(back[key]) == value
        for key, value in sent.items()
        if isinstance(value, str) and key in back and isinstance(back[key], str | int)
    )


def run_lookup(
    client,
    *,
    checklist_id: str,
    markers: Sequence[str],
    name: str,
    prerun: Mapping[str, Any],
    since: datetime | None,
    taken: Collection[str] = (),
) -> Lookup:
    """The run a launch carrying one of `markers` created, if it can be found.

    `taken` are run ids other deliveries already own: never adopted, never candidates.
    Markers are compared exactly (a search for `…-1` also finds `…-12`). Without a marker
    to read, a run matches by name and kick-off values, and only when it is the one such
    run created since shortly before `since`.
    """
    for marker in markers:
        page = client.find_runs(checklist_id=checklist_id, q=marker, per_page=25)
        for run in page.items:
            if find_marker(run.summary) == marker and run.id not in taken:
                return Lookup(run, SEARCH)
    horizon = (since - MARGIN) if since else None
    window: list[Run] = []
    seen: dict = {}
    for run in _newest_runs(client, checklist_id, horizon, seen):
        if run.id in taken:
            continue
        if find_marker(run.summary) in markers:
            return Lookup(run, RECENT)
        if horizon is None or run.created_at is None or run.created_at >= horizon:
            window.append(run)
    alike = [
        r
        for r in window
        if find_marker(r.summary) is None and r.name == name and values_agree(prerun, r.prerun)
    ]
    if len(alike) == 1:
        return Lookup(alike[0], MATCH, tuple(alike))
    if alike:
        return Lookup(None, "", tuple(alike), ambiguous=True)
    return Lookup(None, "", tuple(window), ambiguous=not seen["complete"])


def lookup_verify(connection, client, *, run: Run, body: Mapping[str, Any], since: datetime):
    """After a launch that created `run`, look it up as a later try would, and record on
    `connection` whether (and how) that works and whether Tallyfy kept the summary."""
    marker = find_marker(body.get("summary"))
    if marker:
        summary = run.summary if run.summary is not None else client.get_run(run.id).summary
        kept = find_marker(summary) == marker
        check_record(
            connection,
            SUMMARY_KEPT,
            held=kept,
            detail="the run's summary carries the Kickoff reference"
            if kept
            else "the run came back without the summary Kickoff sent",
        )
    found = run_lookup(
        client,
        checklist_id=str(body.get("checklist_id") or run.checklist_id or ""),
        markers=[marker] if marker else [],
        name=str(body.get("name") or ""),
        prerun=body.get("prerun") or {},
        since=since,
    )
    held = found.run is not None and found.run.id == run.id
    check_record(connection, RUN_LOOKUP, held=held, detail=HOW[found.how] if held else NOT_FOUND)
    return found.how if held else ""


def lookup_verify_if_due(connection, *, run: Run, body: Mapping[str, Any], since: datetime) -> None:
    """`lookup_verify` after a launch, unless a recent check already settled it. A vendor
    error here only postpones the check: the launch itself succeeded."""
    check = check_get(connection, RUN_LOOKUP)
    if check is not None:
        fresh = VERIFIED_FOR if check.state == "verified" else FAILED_FOR
        if timezone.now() - check.checked_at < fresh:
            return
    try:
        connection_call(
            connection, lambda c: lookup_verify(connection, c, run=run, body=body, since=since)
        )
    except (ApiError, NeedsReconnect) as exc:
        log.warning("could not check the run look-up on connection %s: %s", connection.pk, exc)


def runs_owned_by_others(delivery: Delivery, *, since: datetime | None) -> set[str]:
    """Run ids other deliveries of the same template made around `since`: never this one's."""
    start = (since or delivery.created_at) - timedelta(days=2)
    return set(
        Delivery.objects.filter(
            mapping__tallyfy_connection_id=delivery.mapping.tallyfy_connection_id,
            mapping__template_id=delivery.mapping.template_id,
            created_at__gte=start,
        )
        .exclude(pk=delivery.pk)
        .exclude(run_id="")
        .values_list("run_id", flat=True)
    )


def delivery_markers_sent(delivery: Delivery) -> list[str]:
    """What to look for: the delivery's marker, and any other an earlier try really
    sent (a launch from before this install had a key carried `kickoff-delivery-<id>`).
    Only markers this delivery sent, so another install's runs are never adopted."""
    markers = [delivery.marker]
    bodies = DeliveryAttempt.objects.filter(delivery=delivery).values_list(
        "request_body", flat=True
    )
    for body in bodies:
        sent = find_marker(body.get("summary")) if isinstance(body, dict) else None
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
