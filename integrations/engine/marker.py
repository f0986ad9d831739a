"""The delivery marker a launched run's summary carries, so that a delivery whose earlier
attempt had an unknown outcome can find the run it may have created.

`MappingSpec.marker` (`kickoff-<install key>-delivery-<id>`) is appended to the run's
`summary` as a last line `Kickoff reference: <marker>`. Not the name (people read and rename
it, and it is capped at 550) nor a tag (tags are shared objects in Tallyfy and would pile up
one per delivery). `find_marker(run.summary)` reads it back.
"""

from __future__ import annotations

MARKER_PREFIX = "Kickoff reference: "


def reference_line(marker: str) -> str:
    """The summary line that carries a delivery's marker."""
    return f"{MARKER_PREFIX}{marker}"


def find_marker(summary: str | None) -> str | None:
    """The marker a run's summary carries (last reference line), if any."""
    found = None
    for line in (summary or "").splitlines():
        if line.strip().startswith(MARKER_PREFIX):
            found = line.strip()[len(MARKER_PREFIX) :].strip()
    return found
