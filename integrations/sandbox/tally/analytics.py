"""Form analytics computed from stored submissions plus a deterministic visit model.

Visits are not stored: each time bucket gets `starts + starts // 2 + noise(form, bucket)`
visits, where noise is 0-2 from a hash, so the same data always yields the same numbers
and `metrics.visits` equals the sum of the `visits` buckets.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from django.db.models import Avg, Count, Q
from django.utils import timezone

from . import shapes
from .catalog import VARIABLE_TYPES
from .models import Form

PERIODS = ["today", "yesterday", "24h", "7d", "30d", "3m", "6m", "12m", "all"]
HOURLY = {"today", "yesterday", "24h"}
_DAYS = {"7d": 7, "30d": 30, "3m": 90, "6m": 180, "12m": 365}


def period_bounds(form: Form, period: str, now: datetime | None = None):
    """(start, end) of a period in UTC; `end` is exclusive."""
    now = now or timezone.now()
    midnight = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    if period == "today":
        return midnight, now
    if period == "yesterday":
        return midnight - timedelta(days=1), midnight
    if period == "24h":
        return now - timedelta(hours=24), now
    if period == "all":
        first = form.submissions.order_by("submitted_at").values_list("submitted_at", flat=True)
        start = min([form.created_at, *first[:1]])
        return start, now
    return now - timedelta(days=_DAYS[period]), now


def _bucket_key(dt: datetime, hourly: bool) -> str:
    """The bucket a moment falls in: its hour or its day."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:00") if hourly else dt.strftime("%Y-%m-%d")


def _bucket_keys(start: datetime, end: datetime, hourly: bool) -> list[str]:
    """Every bucket of a period, oldest first."""
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    cursor = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if not hourly:
        cursor = cursor.replace(hour=0)
    keys = []
    while cursor < end:
        keys.append(_bucket_key(cursor, hourly))
        cursor += step
    return keys


def _noise(*parts: str, modulo: int = 3) -> int:
    """A stable number below `modulo` from `parts`, so visits look organic yet repeat."""
    return int(hashlib.sha256(":".join(parts).encode()).hexdigest()[:8], 16) % modulo


def _in_period(form: Form, period: str):
    """The form's submissions inside the period, and the period's bounds."""
    start, end = period_bounds(form, period)
    return form.submissions.filter(submitted_at__gte=start, submitted_at__lt=end), start, end


def _buckets(form: Form, period: str) -> tuple[dict, dict, str]:
    """{bucket: {completed, partial}}, {bucket: visits}, interval."""
    hourly = period in HOURLY
    subs, start, end = _in_period(form, period)
    counts: dict[str, dict[str, int]] = {
        k: {"completed": 0, "partial": 0} for k in _bucket_keys(start, end, hourly)
    }
    for submitted_at, completed in subs.values_list("submitted_at", "is_completed").iterator():
        bucket = counts.setdefault(
            _bucket_key(submitted_at, hourly), {"completed": 0, "partial": 0}
        )
        bucket["completed" if completed else "partial"] += 1
    visits = {}
    for key, c in counts.items():
        starts = c["completed"] + c["partial"]
        visits[key] = starts + starts // 2 + _noise(form.id, key)
    return counts, visits, "hour" if hourly else "day"


def submissions_series(form: Form, period: str) -> dict:
    """`analytics/submissions`: completed and partial per bucket."""
    counts, _visits, interval = _buckets(form, period)
    return {"data": counts, "interval": interval}


def visits_series(form: Form, period: str) -> dict:
    """`analytics/visits`: visits per bucket."""
    _counts, visits, interval = _buckets(form, period)
    return {"data": {k: {"totalVisits": v} for k, v in visits.items()}, "interval": interval}


def metrics(form: Form, period: str) -> dict:
    """`analytics/metrics`: visits, submissions, starts, completions and their durations."""
    _counts, visits, _ = _buckets(form, period)
    subs, _start, _end = _in_period(form, period)
    agg = subs.aggregate(
        starts=Count("id"),
        completions=Count("id", filter=Q(is_completed=True)),
        respondents=Count("respondent_id", distinct=True),
        duration=Avg("duration_seconds"),
        completion_duration=Avg("duration_seconds", filter=Q(is_completed=True)),
    )
    total_visits = sum(visits.values())
    completions = agg["completions"]
    return {
        "visits": total_visits,
        "visitDuration": round((agg["duration"] or 0) * 0.8),
        "submissions": completions,
        "uniqueRespondents": agg["respondents"],
        "totalViews": total_visits + total_visits // 4,
        "starts": agg["starts"],
        "completions": completions,
        "completionDuration": round(agg["completion_duration"] or 0),
        "completionRate": round(completions / total_visits * 100, 2) if total_visits else 0,
    }


def dimensions(form: Form, period: str) -> dict:
    """`analytics/dimensions`: visits and submissions per source, device and country."""
    subs, _start, _end = _in_period(form, period)
    out = {}
    for key, column in (("sources", "source"), ("devices", "device"), ("countries", "country")):
        rows = (
            subs.values(column)
            .annotate(n=Count("id"), done=Count("id", filter=Q(is_completed=True)))
            .order_by("-n", column)
        )
        out[key] = [
            {
                "name": r[column],
                "visits": r["n"] + r["n"] // 2 + _noise(form.id, period, r[column]),
                "submissions": r["done"],
            }
            for r in rows
        ]
    return out


def _is_answered(q: dict, value) -> bool:
    """Whether a stored answer counts as answered."""
    if value is None:
        return False
    if q["type"] in VARIABLE_TYPES or q["type"] == "PAYMENT":
        return any(v is not None for v in value.values())
    return True


def drop_off(form: Form, period: str) -> dict | None:
    """Per question: who saw it, who answered it, and where partial respondents stopped.
    None (a JSON `null` body) when the form has no submissions at all, as Tally does."""
    if not form.submissions.exists():
        return None
    subs, _start, _end = _in_period(form, period)
    questions = [q for q in form.questions if q["type"] not in VARIABLE_TYPES]
    views: Counter = Counter()
    answers: Counter = Counter()
    drops: Counter = Counter()
    starts = completions = 0
    for completed, sub_answers in subs.values_list("is_completed", "answers").iterator():
        starts += 1
        completions += int(completed)
        last_seen = len(questions) - 1
        if not completed:  # a partial respondent saw questions up to the last one answered
            answered = [
                i for i, q in enumerate(questions) if _is_answered(q, sub_answers.get(q["id"]))
            ]
            last_seen = answered[-1] if answered else 0
            drops[questions[last_seen]["id"]] += 1
        for q in questions[: last_seen + 1]:
            views[q["id"]] += 1
            if _is_answered(q, sub_answers.get(q["id"])):
                answers[q["id"]] += 1
    _counts, visits, _ = _buckets(form, period)
    total_visits = sum(visits.values())
    data = []
    for q in questions:
        v = views[q["id"]]
        data.append(
            {
                "blockGroupUuid": shapes.group_uuid(form.id, q),
                "title": q["title"],
                "type": q["type"],
                "views": v,
                "startedViews": v,
                "answers": answers[q["id"]],
                "drops": drops[q["id"]],
                "answerRate": round(answers[q["id"]] / v * 100, 2) if v else 0,
                "dropRate": round(drops[q["id"]] / v * 100, 2) if v else 0,
                "isRequired": bool(q.get("required")),
            }
        )
    return {
        "stats": {
            "visits": total_visits,
            "starts": starts,
            "completions": completions,
            "drops": starts - completions,
            "completionRate": round(completions / starts * 100, 2) if starts else 0,
        },
        "dataAvailableSince": shapes.iso(form.created_at),
        "data": data,
        "hasConditionalLogic": form.has_conditional_logic,
    }
