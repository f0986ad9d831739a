"""The dates a filter accepts: far ones (year 9999, year 1) overflow date arithmetic and
time-zone conversion (`date + 1 day`, `astimezone`) and would otherwise end in a 500."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def within_bounds(value: date | datetime | None) -> None:
    """Refuse a date (or date-time) outside EARLIEST..LATEST, saying which range is allowed."""
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(
            f"Pick a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
            code="date_out_of_range",
        )


BOUNDED = [within_bounds]
