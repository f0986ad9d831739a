"""Path converters of the dashboard's URLs."""

from __future__ import annotations

from integrations.tally.ids import TALLY_ID


class TallyIdConverter:
    """A Tally form or submission id: anything else (a NUL, `..`) is a 404 before a view,
    the database or Tally's API sees it."""

    regex = TALLY_ID.pattern

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
