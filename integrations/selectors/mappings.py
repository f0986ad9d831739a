"""Read-only queries about mappings that the dashboard shows next to vendor data."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from ..models import Delivery, Endpoint, Mapping


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


def mappings_with_recent_deliveries(
    *, now: datetime | None = None
) -> list[tuple[Mapping, Delivery | None]]:
    """Every mapping by name, with its deliveries and failures of the last 24 hours
    (`deliveries_24h`, `failed_24h`), its form's webhook state in Tally (`webhook_state`)
    and its latest delivery."""
    since = (now or timezone.now()) - timedelta(hours=24)
    mappings = (
        Mapping.objects.select_related("tally_connection", "tallyfy_connection", "current_version")
        .annotate(
            deliveries_24h=Count("deliveries", filter=Q(deliveries__created_at__gte=since)),
            failed_24h=Count(
                "deliveries",
                filter=Q(deliveries__created_at__gte=since, deliveries__status="failed"),
            ),
            webhook_state=Subquery(
                Endpoint.objects.filter(
                    tally_connection_id=OuterRef("tally_connection_id"),
                    form_id=OuterRef("form_id"),
                ).values("webhook_state")[:1]
            ),
        )
        .order_by("name", "id")
    )
    rows = []
    for m in mappings:
        last = m.deliveries.order_by("-created_at", "-id").only("status", "created_at").first()
        rows.append((m, last))
    return rows
