"""Failed deliveries grouped by cause (error kind, HTTP status, first line of the error,
normalised), and the success rate of each mapping per day: the Overview's read side, and
the Deliveries page's `cause` filter. Each function runs one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..explain import Explanation, cause_key, explain, parse_cause_key
from ..models import Delivery, DeliveryAttempt, Mapping

#: Distinct (kind, status, message) rows read to build the groups: ids in messages make
#: rows differ that one cause merges, and this keeps a flood of them bounded.
CAUSE_ROWS = 2000
#: A cause filter matches at most this many deliveries (newest first).
CAUSE_MATCH_LIMIT = 10_000


def _last_kind() -> Subquery:
    """The error kind of a delivery's latest attempt (a Delivery keeps only its message)."""
    return Subquery(
        DeliveryAttempt.objects.filter(delivery=OuterRef("pk"))
        .order_by("-number")
        .values("error_kind")[:1]
    )


@dataclass
class Cause:
    key: str
    kind: str
    status: int | None
    explanation: Explanation
    count: int = 0
    latest: datetime | None = None


def failure_causes(*, limit: int = 8) -> tuple[list[Cause], int]:
    """The causes of failed deliveries, most frequent first (at most `limit`), and how
    many failed deliveries there are in all (one query)."""
    rows = (
        Delivery.objects.filter(status=Delivery.Status.FAILED)
        .annotate(kind=_last_kind())
        .values_list("kind", "last_status_code", "last_error", "mapping__kind")
        .annotate(n=Count("id"), latest=Max("created_at"))
        .order_by("-n")[:CAUSE_ROWS]
    )
    causes: dict[str, Cause] = {}
    total = 0
    for kind, status, message, mapping_kind, n, latest in rows:
        key = cause_key(kind, status, message)
        cause = causes.get(key)
        if cause is None:
            cause = causes[key] = Cause(
                key=key,
                kind=kind,
                status=status,
                explanation=explain(kind, message, status, mapping_kind=mapping_kind),
            )
        cause.count += n
        cause.latest = max(filter(None, (cause.latest, latest)), default=None)
        total += n
    ordered = sorted(causes.values(), key=lambda c: (-c.count, c.key))
    return ordered[:limit], total


def cause_filter(key: str) -> Q:
    """Deliveries whose last error has the cause `key` (one query, run here): the kind and
    status narrow it in the database, the normalised message in Python."""
    parsed = parse_cause_key(key)
    if parsed is None:
        return Q(pk__in=[])
    _, status, _ = parsed
    qs: QuerySet = Delivery.objects.exclude(last_error="")
    qs = qs.filter(last_status_code=status) if status else qs.filter(last_status_code=None)
    rows = (
        qs.annotate(kind=_last_kind())
        .order_by("-created_at", "-id")
        .values_list("pk", "kind", "last_status_code", "last_error")[:CAUSE_MATCH_LIMIT]
    )
    ids = [pk for pk, k, s, m in rows if cause_key(k, s, m) == key]
    return Q(pk__in=ids)


# --- success rate per mapping per day ------------------------------------------------------


@dataclass
class MappingRate:
    mapping: Mapping
    # Per day: succeeded / (succeeded + failed) in percent, None when none finished.
    rates: list[float | None]
    finished: list[int]


def success_by_mapping(
    *, days: int = 14, now: datetime | None = None
) -> tuple[list[date], list[MappingRate]]:
    """Each mapping's share of finished deliveries that succeeded, per day of the last
    `days` days (one query, grouped by day, mapping and status)."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    dates = [first + timedelta(days=i) for i in range(days)]
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    finished = (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED)
    grouped = (
        Delivery.objects.filter(created_at__gte=start, status__in=finished)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "mapping_id", "mapping__name", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[date, dict[str, int]]] = {}
    names: dict[int, str] = {}
    for day, mapping_id, name, status, n in grouped:
        names[mapping_id] = name
        counts.setdefault(mapping_id, {}).setdefault(day, {})[status] = n
    out = []
    for mapping_id in sorted(names, key=lambda pk: (names[pk].lower(), pk)):
        per_day = counts[mapping_id]
        rates, totals = [], []
        for d in dates:
            c = per_day.get(d, {})
            ok, bad = c.get(Delivery.Status.SUCCEEDED, 0), c.get(Delivery.Status.FAILED, 0)
            totals.append(ok + bad)
            rates.append(round(100 * ok / (ok + bad), 1) if ok + bad else None)
        out.append(
            MappingRate(
                mapping=Mapping(pk=mapping_id, name=names[mapping_id]), rates=rates, finished=totals
            )
        )
    return dates, out
