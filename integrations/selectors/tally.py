"""Tally data for the dashboard's Forms pages: cached, polite, and never an error page.

Selectors (`tally_<thing>(*, …)`) read through `connection_call`, so tokens refresh by
themselves and every request spends the shared per-account rate limit. Each answer is
kept in Django's cache (Redis in production) under the connection and the arguments:

- younger than `FRESH_SECONDS`: served from the cache, Tally is not asked;
- older: Tally is asked again (`refresh=True` always asks: the **Refresh** control);
- Tally rate-limits us, is down or times out: the last good copy (kept `KEEP_SECONDS`) is
  served with a notice ("Tally is rate-limiting us; showing data from 3 minutes ago"); with
  no copy, an empty result with an error message. A connection that needs reconnecting
  gets a message pointing at Reconnect.

Every selector returns a `Fetched`: the data (or an empty value) plus what to tell the
person looking at it. Only `NotFound` escapes (the view answers 404).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from django.core.cache import cache
from django.utils.timesince import timesince

from ..connections import NeedsReconnect, connection_call
from ..http import ApiError, NotFound, RateLimited, Unavailable
from ..models import Connection, Provider
from ..tally.client import (
    ANALYTICS_PERIODS,
    MAX_PAGE_SIZE,
    SubmissionPage,
    TallyAnalytics,
    TallyForm,
    TallyQuestion,
    TallySubmissionDetail,
)
from ..tally.questions import questions_with_options

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long an answer is served without asking Tally again.
FRESH_SECONDS = 90
#: How long the last good answer is kept to show while Tally is unavailable.
KEEP_SECONDS = 7 * 24 * 3600
#: Bump to forget every cached shape after a change to what is cached.
CACHE_VERSION = 1

ANALYTICS_METRICS_SHOWN = ("metrics", "visits", "submissions", "drop-off", "dimensions")
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


# ---------------------------------------------------------------------------------------
# The cache-and-fallback core
# ---------------------------------------------------------------------------------------


@dataclass
class Fetched(Generic[T]):
    """What a selector found: `data`, and what to tell the person about it.

    `notice`: the data is an older copy (Tally could not be asked). `error`: there is no
    data to show (`data` is the empty value). `reconnect`: the connection to reconnect.
    """

    data: T
    fetched_at: datetime | None = None
    notice: str = ""
    error: str = ""
    reconnect: Connection | None = None

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def message(self) -> str:
        return self.error or self.notice


def _cache_key(connection: Connection, parts: tuple[Any, ...]) -> str:
    # The account id is part of the key so a reused primary key (another database, a
    # deleted and re-made connection) never serves another account's data.
    raw = "\x1f".join(str(p) for p in (connection.external_id, *parts))
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return f"kickoff:tally:v{CACHE_VERSION}:{connection.pk}:{digest}"


def _why(exc: Exception) -> str:
    if isinstance(exc, RateLimited):
        return "Tally is rate-limiting us"
    if isinstance(exc, Unavailable):
        status = getattr(exc, "status", None)
        if status:
            return f"Tally is not answering (HTTP {status})"
        return "Tally did not answer in time"
    if isinstance(exc, ApiError):
        return f"Tally refused the request ({exc})"
    return "Tally could not be reached"


def _ago(when: datetime) -> str:
    # timesince() joins with non-breaking spaces; messages are plain text.
    return timesince(when).replace("\xa0", " ") + " ago"


def _fallback(
    entry: dict | None, empty: T, why: str, *, reconnect: Connection | None = None
) -> Fetched[T]:
    if entry is not None:
        at = datetime.fromtimestamp(entry["at"], tz=UTC)
        return Fetched(
            entry["data"],
            fetched_at=at,
            notice=f"{why}; showing data from {_ago(at)}.",
            reconnect=reconnect,
        )
    return Fetched(
        empty,
        error=f"{why}, and Kickoff has no earlier copy to show. Try again in a minute.",
        reconnect=reconnect,
    )


def cached_call(
    connection: Connection,
    parts: tuple[Any, ...],
    call: Callable[[Any], T],
    *,
    empty: T,
    refresh: bool = False,
    fresh_seconds: float = FRESH_SECONDS,
) -> Fetched[T]:
    """`call(client)` through the cache, with the last good copy as a fallback."""
    key = _cache_key(connection, parts)
    entry = cache.get(key)
    now = time.time()
    if entry is not None and not refresh and now - entry["at"] < fresh_seconds:
        return Fetched(entry["data"], fetched_at=datetime.fromtimestamp(entry["at"], tz=UTC))
    try:
        data = connection_call(connection, call)
    except NeedsReconnect as exc:
        why = (
            f"The Tally connection “{connection.label}” needs reconnecting ({exc.reason}) "
            "— use Reconnect on the Connections page"
        )
        return _fallback(entry, empty, why, reconnect=connection)
    except NotFound:
        raise
    except (RateLimited, Unavailable) as exc:
        log.info("tally %s for connection %s: %s", parts[0], connection.pk, exc)
        return _fallback(entry, empty, _why(exc))
    except ApiError as exc:
        log.warning("tally %s for connection %s failed: %r", parts[0], connection.pk, exc)
        return _fallback(entry, empty, _why(exc))
    cache.set(key, {"at": now, "data": data}, KEEP_SECONDS)
    return Fetched(data, fetched_at=datetime.fromtimestamp(now, tz=UTC))


def tally_connections() -> list[Connection]:
    """Every Tally connection that is not switched off (broken ones show a message)."""
    return list(
        Connection.objects.filter(provider=Provider.TALLY).exclude(
            status=Connection.Status.DISABLED
        )
    )


# ---------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------


@dataclass
class FormRow:
    connection: Connection
    form: TallyForm
    mappings: list = field(default_factory=list)  # Kickoff mappings of this form


@dataclass
class FormsOverview:
    rows: list[FormRow] = field(default_factory=list)
    # One per connection that could not be read fresh: (connection, Fetched).
    problems: list[tuple[Connection, Fetched]] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)


def tally_forms(*, refresh: bool = False) -> FormsOverview:
    """All forms of every Tally connection, newest first."""
    out = FormsOverview(connections=tally_connections())
    for connection in out.connections:
        fetched = cached_call(
            connection,
            ("forms",),
            lambda c: list(c.iter_forms()),
            empty=[],
            refresh=refresh,
        )
        if fetched.message:
            out.problems.append((connection, fetched))
        out.rows.extend(FormRow(connection, f) for f in fetched.data)
    epoch = datetime.min.replace(tzinfo=UTC)
    out.rows.sort(key=lambda r: r.form.updated_at or r.form.created_at or epoch, reverse=True)
    return out


def tally_form(connection: Connection, form_id: str, *, refresh: bool = False) -> Fetched:
    """One form (name, status, blocks); `data` is None when it could not be read."""
    return cached_call(
        connection, ("form", form_id), lambda c: c.get_form(form_id), empty=None, refresh=refresh
    )


def tally_questions(connection: Connection, form_id: str, *, refresh: bool = False) -> Fetched:
    """The form's questions as dicts with their options (see `questions_with_options`).

    Two cached reads: the questions, and the form (for its option blocks)."""
    fetched = cached_call(
        connection,
        ("questions", form_id),
        lambda c: c.get_questions(form_id),
        empty=[],
        refresh=refresh,
    )
    form = tally_form(connection, form_id, refresh=refresh)
    blocks = form.data.blocks if form.data is not None else []
    fetched.data = questions_with_options(fetched.data, blocks)
    if not fetched.message and form.message:
        fetched.notice = form.notice
    return fetched


# ---------------------------------------------------------------------------------------
# Submissions
# ---------------------------------------------------------------------------------------

SUBMISSIONS_PAGE_SIZE = 50


def _iso(value: date | datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def tally_submissions(
    connection: Connection,
    form_id: str,
    *,
    status: str = "all",
    start: date | None = None,
    end: date | datetime | str | None = None,
    page: int = 1,
    limit: int = SUBMISSIONS_PAGE_SIZE,
    refresh: bool = False,
) -> Fetched:
    """One page of submissions, newest first; `data` is a SubmissionPage (empty on error)."""
    args = (form_id, status, _iso(start), _iso(end), page, limit)
    return cached_call(
        connection,
        ("submissions", *args),
        lambda c: c.list_submissions(
            form_id,
            page=page,
            limit=limit,
            filter=status,
            start_date=_iso(start),
            end_date=_iso(end),
        ),
        empty=SubmissionPage(items=[], has_more=False, page=page),
        refresh=refresh,
    )


def tally_latest_submission(
    connection: Connection, form_id: str, *, refresh: bool = False
) -> Fetched:
    """When the form's newest submission arrived (`data` is a datetime or None)."""

    def call(c):
        found = c.list_submissions(form_id, page=1, limit=1, filter="all")
        return found.items[0].submitted_at if found.items else None

    # Slower-moving than the rest and asked once per form on the list: keep it longer.
    return cached_call(
        connection, ("latest", form_id), call, empty=None, refresh=refresh, fresh_seconds=300
    )


def tally_submission(
    connection: Connection, form_id: str, submission_id: str, *, refresh: bool = False
) -> Fetched:
    """One submission with the form's questions (`data`: TallySubmissionDetail or None)."""
    return cached_call(
        connection,
        ("submission", form_id, submission_id),
        lambda c: c.get_submission(form_id, submission_id),
        empty=None,
        refresh=refresh,
    )


class ExportStopped(Exception):
    """Tally stopped answering in the middle of an export."""


def iter_all_submissions(
    connection: Connection,
    form_id: str,
    *,
    status: str = "all",
    start: date | None = None,
    end: date | datetime | str | None = None,
    on_questions: Callable[[list[TallyQuestion]], None] | None = None,
    attempts: int = 4,
    sleep: Callable[[float], None] | None = None,
) -> Iterator[Any]:
    """Every submission matching the filter, page after page, one Tally call per page and
    only when the consumer gets there (CSV export). Not cached: an export wants it all now.

    Rate limits and outages are waited out a few times (`Retry-After` honoured, 30 s at
    most) before `ExportStopped` is raised. `on_questions` receives the first page's
    questions before its first submission is yielded.
    """
    page = 1
    while True:
        for attempt in range(1, attempts + 1):
            try:
                result: SubmissionPage = connection_call(
                    connection,
                    lambda c, page=page: c.list_submissions(
                        form_id,
                        page=page,
                        limit=MAX_PAGE_SIZE,
                        filter=status,
                        start_date=_iso(start),
                        end_date=_iso(end),
                    ),
                )
                break
            except (RateLimited, Unavailable) as exc:
                if attempt == attempts:
                    raise ExportStopped(f"{_why(exc)} on page {page}: {exc}") from exc
                wait = getattr(exc, "retry_after", None) or 2.0 * attempt
                (sleep or time.sleep)(min(float(wait), 30.0))
            except NeedsReconnect as exc:
                raise ExportStopped(
                    f"The Tally connection needs reconnecting: {exc.reason}"
                ) from exc
        if page == 1 and on_questions is not None:
            on_questions(result.questions)
        yield from result.items
        if not result.has_more or not result.items:
            return
        page += 1


# ---------------------------------------------------------------------------------------
# Analytics
# ---------------------------------------------------------------------------------------


def tally_analytics(
    connection: Connection, form_id: str, *, period: str = "30d", refresh: bool = False
) -> dict[str, Fetched]:
    """Each analytics metric over the period, fetched and cached one by one (so one odd
    or failing endpoint only blanks its own chart)."""
    if period not in ANALYTICS_PERIODS:
        raise ValueError(f"unknown period {period!r}")
    out = {}
    for metric in ANALYTICS_METRICS_SHOWN:
        out[metric] = cached_call(
            connection,
            ("analytics", form_id, metric, period),
            lambda c, metric=metric: c.get_analytics(form_id, metric, period),
            empty=None,
            refresh=refresh,
        )
    return out


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


def _first_number(values: dict[str, Any], *names: str) -> float | None:
    for name in names:
        found = _number(values.get(name))
        if found is not None:
            return found
    return None


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


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
    rate = _first_number(values, "completionRate")
    # A fraction rather than a percentage? The docs do not say which.
    fraction = rate is not None and 0 < rate <= 1 and visits and submissions is not None
    if fraction and abs(submissions / visits - rate) < 0.01:
        rate *= 100
    if rate is None and visits and submissions is not None:
        rate = submissions / visits * 100
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
        drop_rate = _first_number(item, "dropRate")
        if drop_rate is None and views and drops is not None:
            drop_rate = drops / views * 100
        answer_rate = _first_number(item, "answerRate")
        if answer_rate is None and views and answers is not None:
            answer_rate = answers / views * 100
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


__all__ = [
    "FRESH_SECONDS",
    "KEEP_SECONDS",
    "PERIOD_LABELS",
    "AnalyticsReport",
    "ExportStopped",
    "Fetched",
    "FormRow",
    "FormsOverview",
    "TallySubmissionDetail",
    "analytics_report",
    "cached_call",
    "iter_all_submissions",
    "questions_with_options",
    "tally_analytics",
    "tally_connections",
    "tally_form",
    "tally_forms",
    "tally_latest_submission",
    "tally_questions",
    "tally_submission",
    "tally_submissions",
]
