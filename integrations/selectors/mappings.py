"""Read-only queries about mappings that the dashboard shows next to vendor data."""

from __future__ import annotations

from ..models import Mapping


def mappings_by_form(pairs: list[tuple[int, str]]) -> dict[tuple[int, str], list[Mapping]]:
    """The mappings of each (Tally connection id, form id), in one query."""
    connection_ids = {c for c, _ in pairs}
    form_ids = {f for _, f in pairs}
    out: dict[tuple[int, str], list[Mapping]] = {}
    for m in Mapping.objects.filter(
        tally_connection_id__in=connection_ids, form_id__in=form_ids
    ).order_by("name"):
        out.setdefault((m.tally_connection_id, m.form_id), []).append(m)
    return out
