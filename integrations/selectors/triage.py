"""What keeps the Deliveries list true while it is open, and what its rows say about who a
delivery is about: cheap reads, each bounded whatever the table's size."""

from __future__ import annotations

import re

from django.db.models import Q

from .deliveries import SEARCH_LIMIT, DeliveryFilters, decode_cursor, deliveries_filtered

#: "N new deliveries" stops counting here ("99+").
NEWER_CAP = 99

_EMAIL = re.compile(r"[^\s·<>()\[\],;:\"']+@[^\s·<>()\[\],;:\"']+\.[A-Za-z]{2,}")


def respondent_email(answers_head: str | None) -> str:
    """The first e-mail address in a submission's answer text ("" when none)."""
    found = _EMAIL.search(answers_head or "")
    return found[0] if found else ""


def newer_count(filters: DeliveryFilters, since: str) -> tuple[int, bool]:
    """How many matching deliveries are newer than the keyset `since` (the first row the
    page shows), counting at most NEWER_CAP + 1 rows: (count, capped)."""
    after = decode_cursor(since)
    if after is None:
        return 0, False
    when, pk = after
    qs = deliveries_filtered(filters, search_limit=SEARCH_LIMIT).filter(created_at__gte=when)
    qs = qs.filter(Q(created_at__gt=when) | Q(created_at=when, pk__gt=pk))
    n = qs.order_by().values("pk")[: NEWER_CAP + 1].count()
    return min(n, NEWER_CAP), n > NEWER_CAP
