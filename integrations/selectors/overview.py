"""The Overview's health at a glance and the queue lag the metrics report: deliveries per
hour by outcome, failure rate. A fixed number of queries (the failures grouped by cause
and the success rate per mapping are in `causes`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncHour
from django.utils import timezone

from ..models import Connection, Delivery, Mapping


@dataclass
class HourBucket:
    hour: datetime
    counts: Counter = field(default_factory=Counter)


@dataclass
class OverviewStats:
    connections_needing_attention: list[Connection]
    mappings_needing_attention: list[Mapping]
    hours: list[HourBucket]  # the last 24 hours, oldest first
    totals_24h: Counter
    failure_rate: float | None  # failed / finished, last 24 h; None when nothing finished
    queue_lag: timedelta | None  # age of the oldest delivery waiting for a worker
    # Deliveries waiting for staff to say whether Tallyfy made their run (any age).
    needs_check: int = 0

    @property
    def chart(self) -> dict[str, Any]:
        """Chart.js data: deliveries per hour by outcome."""
        series = [
            ("succeeded", "Succeeded", [Delivery.Status.SUCCEEDED]),
            ("failed", "Failed", [Delivery.Status.FAILED]),
            (
                "in_progress",
                "Retrying or waiting",
                [
                    Delivery.Status.RETRYING,
                    Delivery.Status.PENDING,
                    Delivery.Status.SENDING,
                    Delivery.Status.HELD,
                ],
            ),
            ("cancelled", "Cancelled", [Delivery.Status.CANCELLED]),
            (
                "not_taken",
                "Skipped or routed elsewhere",
                [Delivery.Status.SKIPPED, Delivery.Status.ROUTED],
            ),
        ]
        return {
            "labels": [b.hour.strftime("%H:00") for b in self.hours],
            "datasets": [
                {
                    "key": key,
                    "label": label,
                    "data": [sum(b.counts[s] for s in statuses) for b in self.hours],
                }
                for key, label, statuses in series
            ],
        }


def delivery_queue_lag(*, now: datetime | None = None) -> timedelta | None:
    """How long the oldest delivery waiting to be tried has waited (pending, or retrying
    and due); None when none waits (two queries)."""
    now = now or timezone.now()
    # `updated_at` of a pending delivery: when it was (re)queued.
    oldest_pending = (
        Delivery.objects.filter(status=Delivery.Status.PENDING)
        .order_by("updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    oldest_due = (
        Delivery.objects.filter(status=Delivery.Status.RETRYING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    waits = [now - t for t in (oldest_pending, oldest_due) if t is not None]
    return max(waits) if waits else None


def overview_stats(*, now: datetime | None = None) -> OverviewStats:
    """Health at a glance (six queries)."""
    now = now or timezone.now()
    connections = list(Connection.objects.exclude(status=Connection.Status.ACTIVE))
    mappings = [
        m
        for m in Mapping.objects.exclude(attention=[]).exclude(attention__isnull=True)
        if m.attention
    ]
    first_hour = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    hours = [HourBucket(hour=first_hour + timedelta(hours=i)) for i in range(24)]
    by_hour = {b.hour: b for b in hours}
    totals: Counter = Counter()
    grouped = (
        Delivery.objects.filter(created_at__gte=first_hour)
        .annotate(hour=TruncHour("created_at"))
        .values_list("hour", "status")
        .order_by()
        .annotate(n=Count("id"))
    )
    for hour, status, n in grouped:
        bucket = by_hour.get(hour)
        if bucket is not None:
            bucket.counts[status] += n
    for b in hours:
        totals.update(b.counts)
    finished = totals[Delivery.Status.SUCCEEDED] + totals[Delivery.Status.FAILED]
    rate = totals[Delivery.Status.FAILED] / finished if finished else None
    return OverviewStats(
        connections_needing_attention=connections,
        mappings_needing_attention=mappings,
        hours=hours,
        totals_24h=totals,
        failure_rate=rate,
        queue_lag=delivery_queue_lag(now=now),
        needs_check=Delivery.objects.filter(status=Delivery.Status.NEEDS_CHECK).count(),
    )
