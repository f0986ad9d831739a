"""The Forms section's analytics tab: Tally's analytics shaped into cards, charts and
tables, every part degrading to a message of its own instead of an error."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from integrations.models import Connection
from integrations.selectors.tally import Fetched
from integrations.tally.client import ANALYTICS_PERIODS
from integrations.tally.shapes import TallyAnalytics

from ..durations import format_duration

log = logging.getLogger(__name__)

PERIOD_LABELS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "3m": "Last 3 months",
    "6m": "Last 6 months",
    "12m": "Last 12 months",
    "all": "All time",
}
assert set(PERIOD_LABELS) == set(ANALYTICS_PERIODS)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _percent(part: float | None, whole: float | None) -> float | None:
    """`part` ÷ `whole` as a percentage; None (shown "—") when either is missing or zero whole."""
    if part is None or not whole:
        return None
    return part / whole * 100


def _first_number(values: dict[str, Any], *names: str) -> float | None:
    for name in names:
        found = _number(values.get(name))
        if found is not None:
            return found
    return None


@dataclass
class Card:
    label: str
    value: str
    hint: str = ""


@dataclass
class Chart:
    """One chart: labels, named series, and the message to show instead when empty."""

    id: str
    title: str
    kind: str  # line | bar
    labels: list[str] = field(default_factory=list)
    series: list[tuple[str, list[float]]] = field(default_factory=list)
    message: str = ""
    stacked: bool = False
    horizontal: bool = False

    @property
    def drawable(self) -> bool:
        return bool(self.labels) and not self.message

    def spec(self) -> dict[str, Any]:
        """What static/js/charts.js draws (passed with `json_script`)."""
        return {
            "kind": self.kind,
            "labels": self.labels,
            "series": [{"label": name, "data": data} for name, data in self.series],
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            "title": self.title,
        }

    def table_rows(self) -> list[list[Any]]:
        return [[label, *(s[1][i] for s in self.series)] for i, label in enumerate(self.labels)]


@dataclass
class DropOffRow:
    title: str
    type: str
    views: float | None
    answers: float | None
    drops: float | None
    drop_rate: float | None
    answer_rate: float | None
    required: bool | None


@dataclass
class Breakdown:
    name: str  # Sources, Devices, Countries
    column: str = ""  # Source, Device, Country
    rows: list[tuple[str, float | None, float | None]] = field(
        default_factory=list
    )  # label, visits, submissions
    message: str = ""


@dataclass
class AnalyticsReport:
    """Analytics shaped for the page; every part degrades to a message on its own."""

    period: str
    cards: list[Card] = field(default_factory=list)
    cards_message: str = ""
    visits: Chart | None = None
    submissions: Chart | None = None
    drop_off: Chart | None = None
    drop_off_rows: list[DropOffRow] = field(default_factory=list)
    drop_off_message: str = ""
    breakdowns: list[Breakdown] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reconnect: Connection | None = None

    @property
    def charts(self) -> list[Chart]:
        return [c for c in (self.visits, self.submissions, self.drop_off) if c is not None]


UNKNOWN_SHAPE = (
    "Tally answered in a shape Kickoff does not recognise, so there is nothing to show here."
)


def _cards(a: TallyAnalytics | None) -> tuple[list[Card], str]:
    if a is None:
        return [], "No figures: Tally could not be asked."
    values = dict(a.totals)
    if not values:
        return [], UNKNOWN_SHAPE if a.raw is not None else "Tally has no figures for this period."
    visits = _first_number(values, "visits", "totalVisits")
    starts = _first_number(values, "starts")
    submissions = _first_number(values, "submissions", "completions")
    # Tally's `completionRate` may be a fraction or a percent (docs/vendor-notes.md, "Where
    # the sources disagree"), so the rate is computed from the counts and it is never read.
    rate = _percent(_first_number(values, "submissions"), visits)
    duration = _first_number(values, "completionDuration", "averageCompletionTime")
    if duration is not None and duration > 86_400:
        duration = duration / 1000  # milliseconds, not seconds
    if all(v is None for v in (visits, starts, submissions, rate, duration)):
        return [], UNKNOWN_SHAPE

    def count(v: float | None) -> str:
        return "—" if v is None else f"{int(v):,}"

    return [
        Card("Visits", count(visits)),
        Card("Starts", count(starts)),
        Card("Submissions", count(submissions)),
        Card("Completion rate", "—" if rate is None else f"{rate:.1f}%", "submissions ÷ visits"),
        Card("Avg. completion time", format_duration(duration)),
    ], ""


def _empty_series_message(a: TallyAnalytics, what: str) -> str:
    """No buckets: either Tally had none (empty data) or it said something we can't read."""
    raw = a.raw
    if raw is None:
        return f"No {what} recorded in this period."
    if isinstance(raw, dict):
        data = raw["data"] if "data" in raw else {k: v for k, v in raw.items() if k != "interval"}
        if data in ({}, [], None):
            return f"No {what} recorded in this period."
    return UNKNOWN_SHAPE


def _visits_chart(a: TallyAnalytics | None) -> Chart:
    chart = Chart("chart-visits", "Visits over time", "line")
    if a is None:
        chart.message = "No visits: Tally could not be asked."
        return chart
    values = []
    for bucket in a.series:
        v = _first_number(bucket.values, "totalVisits", "visits", "value", "count", "total")
        if v is None and len(bucket.values) == 1:
            v = _number(next(iter(bucket.values.values())))
        if v is None:
            chart.message = UNKNOWN_SHAPE
            return chart
        chart.labels.append(bucket.key)
        values.append(v)
    chart.series = [("Visits", values)]
    if not chart.labels:
        chart.message = _empty_series_message(a, "visits")
    return chart


def _submissions_chart(a: TallyAnalytics | None) -> Chart:
    chart = Chart("chart-submissions", "Submissions over time", "bar", stacked=True)
    if a is None:
        chart.message = "No submissions: Tally could not be asked."
        return chart
    completed, partial = [], []
    for bucket in a.series:
        done = _first_number(bucket.values, "completed", "completions", "submissions", "value")
        part = _first_number(bucket.values, "partial", "partials")
        if done is None and part is None:
            chart.message = UNKNOWN_SHAPE
            return chart
        chart.labels.append(bucket.key)
        completed.append(done or 0)
        partial.append(part or 0)
    chart.series = [("Completed", completed), ("Partial", partial)]
    if not chart.labels:
        chart.message = _empty_series_message(a, "submissions")
    return chart


def _drop_off(a: TallyAnalytics | None) -> tuple[Chart, list[DropOffRow], str]:
    chart = Chart("chart-drop-off", "Drop-off per question", "bar", horizontal=True)
    if a is None:
        chart.message = "No drop-off data: Tally could not be asked."
        return chart, [], chart.message
    if not a.available:
        chart.message = (
            "Tally has no drop-off data for this form yet (it answers nothing until there "
            "are submissions)."
        )
        return chart, [], chart.message
    rows = []
    for item in a.rows:
        views = _first_number(item, "views", "startedViews")
        answers = _first_number(item, "answers")
        drops = _first_number(item, "drops")
        # `dropRate`/`answerRate` may be fractions or percents (docs/vendor-notes.md): the
        # rates are computed from the counts, never read.
        drop_rate = _percent(drops, views)
        answer_rate = _percent(answers, views)
        rows.append(
            DropOffRow(
                title=str(item.get("title") or item.get("blockGroupUuid") or "(untitled)"),
                type=str(item.get("type") or ""),
                views=views,
                answers=answers,
                drops=drops,
                drop_rate=drop_rate,
                answer_rate=answer_rate,
                required=item.get("isRequired")
                if isinstance(item.get("isRequired"), bool)
                else None,
            )
        )
    if not rows:
        raw = a.raw
        chart.message = (
            "No drop-off data for this period."
            if isinstance(raw, dict) and isinstance(raw.get("data"), list)
            else UNKNOWN_SHAPE
        )
        return chart, [], chart.message
    chart.labels = [r.title for r in rows]
    chart.series = [
        ("Views", [r.views or 0 for r in rows]),
        ("Answers", [r.answers or 0 for r in rows]),
        ("Drops", [r.drops or 0 for r in rows]),
    ]
    return chart, rows, ""


_DIMENSIONS = (
    ("Sources", "Source", ("sources", "source", "referrers", "utmSources")),
    ("Devices", "Device", ("devices", "device", "deviceTypes")),
    ("Countries", "Country", ("countries", "country")),
)
_NAME_KEYS = ("name", "label", "value", "key", "source", "device", "country", "id")


def _dimension_rows(value: Any) -> list[tuple[str, float | None, float | None]] | None:
    rows = []
    if isinstance(value, dict):  # {name: count} or {name: {visits, submissions}}
        for name, v in value.items():
            if isinstance(v, dict):
                rows.append(
                    (
                        str(name),
                        _first_number(v, "visits", "count", "total"),
                        _first_number(v, "submissions", "completions"),
                    )
                )
            elif _number(v) is not None:
                rows.append((str(name), _number(v), None))
        return rows
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):
                continue
            name = next((item[k] for k in _NAME_KEYS if isinstance(item.get(k), str)), None)
            if name is None:
                continue
            rows.append(
                (
                    name,
                    _first_number(item, "visits", "count", "total", "views"),
                    _first_number(item, "submissions", "completions"),
                )
            )
        return rows
    return None


def _breakdowns(a: TallyAnalytics | None) -> list[Breakdown]:
    out = []
    raw = a.raw if a is not None else None
    body = raw.get("data") if isinstance(raw, dict) and isinstance(raw.get("data"), dict) else raw
    for title, column, keys in _DIMENSIONS:
        b = Breakdown(title, column)
        if a is None:
            b.message = "Tally could not be asked."
        elif not isinstance(body, dict):
            b.message = "No data for this period." if body is None else UNKNOWN_SHAPE
        else:
            key = next((k for k in keys if k in body), None)
            rows = _dimension_rows(body.get(key)) if key else None
            if rows is None:
                b.message = UNKNOWN_SHAPE
            elif not rows:
                b.message = "No data for this period."
            else:
                b.rows = rows
        out.append(b)
    return out


def analytics_report(period: str, fetched: dict[str, Fetched]) -> AnalyticsReport:
    """Shape the analytics for the page; any surprise becomes a message, never an error."""
    report = AnalyticsReport(period=period)
    for f in fetched.values():
        if f.error and f.error not in report.errors:
            report.errors.append(f.error)
        elif f.notice and f.notice not in report.notices:
            report.notices.append(f.notice)
        report.reconnect = report.reconnect or f.reconnect

    def get(metric: str) -> TallyAnalytics | None:
        found = fetched.get(metric)
        return found.data if found is not None else None

    steps = (
        ("cards", lambda: _cards(get("metrics"))),
        ("visits", lambda: _visits_chart(get("visits"))),
        ("submissions", lambda: _submissions_chart(get("submissions"))),
        ("drop-off", lambda: _drop_off(get("drop-off"))),
        ("dimensions", lambda: _breakdowns(get("dimensions"))),
    )
    for name, step in steps:
        try:
            result = step()
        except Exception:  # a shape nobody foresaw: say so, never a 500
            log.exception("could not read Tally analytics %s", name)
            result = None
        if name == "cards":
            report.cards, report.cards_message = result or ([], UNKNOWN_SHAPE)
        elif name == "visits":
            report.visits = result or Chart(
                "chart-visits", "Visits over time", "line", message=UNKNOWN_SHAPE
            )
        elif name == "submissions":
            report.submissions = result or Chart(
                "chart-submissions", "Submissions over time", "bar", message=UNKNOWN_SHAPE
            )
        elif name == "drop-off":
            chart, rows, message = result or (
                Chart("chart-drop-off", "Drop-off per question", "bar", message=UNKNOWN_SHAPE),
                [],
                UNKNOWN_SHAPE,
            )
            report.drop_off, report.drop_off_rows, report.drop_off_message = chart, rows, message
        else:
            report.breakdowns = result or [
                Breakdown(t, c, message=UNKNOWN_SHAPE) for t, c, _ in _DIMENSIONS
            ]
    return report
