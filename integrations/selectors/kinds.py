"""Deliveries by what they did: processes launched and tasks completed."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from ..models import Delivery, Mapping


def succeeded_by_kind(*, since: datetime) -> dict[str, int]:
    """Succeeded deliveries since `since`, per `Mapping.Kind` (every kind present)."""
    counts = dict.fromkeys(Mapping.Kind.values, 0)
    rows = (
        Delivery.objects.filter(status=Delivery.Status.SUCCEEDED, created_at__gte=since)
        .values_list("mapping__kind")
        .order_by()
        .annotate(n=Count("id"))
    )
    for kind, n in rows:
        counts[kind] = n
    return counts
