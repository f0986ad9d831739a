"""Finding the run a launch made when Tallyfy's answer never came back.

Tallyfy has no idempotency key, so a launch that timed out may have created its run. Each
launch carries a marker in its summary; but neither `summary` at launch nor searching runs
is in Tallyfy's launch docs (docs/vendor-notes.md, "Where the sources disagree"). So a run
is looked for three ways, cheapest first, and the way that worked is recorded per
organization (integrations/contract.py). Where no way is known to work, a try whose
outcome is unknown is not relaunched: staff choose (Needs a check).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .contract import RUN_LOOKUP, SUMMARY_KEPT, check_record
from .mapping import find_marker
from .tallyfy.client import Run

SEARCH = "search"
RECENT = "recent"
MATCH = "match"
HOW = {
    SEARCH: "found by searching runs for its Kickoff reference",
    RECENT: "found by reading the Kickoff reference in the template's newest runs",
    MATCH: "found by its name, kick-off values and creation time",
}
NOT_FOUND = "not found by a search, in the template's newest runs, or by name and values"

#: How far before the first unknown try the template's runs are read (clock skew, queues).
MARGIN = timedelta(minutes=10)
#: Pages of 100 runs read at most; a template launching more than that in the window is
#: beyond what staff could check by hand anyway.
MAX_PAGES = 5


@dataclass(frozen=True)
class Lookup:
    """What a look-up found: the run and how, or the runs that might be it."""

    run: Run | None
    how: str = ""
    candidates: tuple[Run, ...] = field(default=())


def _newest_runs(client, checklist_id: str, horizon: datetime | None) -> Iterator[Run]:
    """The template's runs, newest first, back to `horizon`."""
    for number in range(1, MAX_PAGES + 1):
        page = client.find_runs(checklist_id=checklist_id, per_page=100, page=number)
        yield from page.items
        oldest = min((r.created_at for r in page.items if r.created_at), default=None)
        if not page.has_more or (horizon and oldest and oldest < horizon):
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
    for run in _newest_runs(client, checklist_id, horizon):
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
    return Lookup(None, "", tuple(alike or window))


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
