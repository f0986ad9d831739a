"""Read-only queries the dashboard shows next to vendor data."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from ..models import Delivery, Mapping


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


def submission_deliveries(form_id: str, submission_id: str) -> list[Delivery]:
    """What Kickoff did with one Tally submission: its deliveries, one per mapping."""
    return list(
        Delivery.objects.filter(
            submission__form_id=form_id, submission__submission_id=submission_id
        )
        .select_related("mapping", "mapping_version", "submission")
        .order_by("created_at")
    )


def period_start(period: str, now: datetime | None = None) -> tuple[datetime | None, datetime]:
    """The window a Tally analytics period covers, as (start, end); start None = all time."""
    now = now or timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return midnight, now
    if period == "yesterday":
        return midnight - timedelta(days=1), midnight
    days = {"24h": 1, "7d": 7, "30d": 30, "3m": 91, "6m": 182, "12m": 365}.get(period)
    return (now - timedelta(days=days) if days else None), now


def form_delivery_outcomes(connection_id: int, form_id: str, period: str) -> Counter:
    """Kickoff's own numbers for a form over a Tally analytics period: deliveries by status."""
    start, end = period_start(period)
    qs = Delivery.objects.filter(
        mapping__tally_connection_id=connection_id, mapping__form_id=form_id, created_at__lt=end
    )
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    return Counter(dict(qs.values_list("status").annotate(n=Count("id")).order_by()))
