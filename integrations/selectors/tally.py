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
from ..tally.client import ANALYTICS_PERIODS, MAX_PAGE_SIZE
from ..tally.questions import questions_with_options
from ..tally.shapes import SubmissionPage, TallyForm, TallyQuestion, TallySubmissionDetail

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long an answer is served without asking Tally again.
FRESH_SECONDS = 90
#: How long the last good answer is kept to show while Tally is unavailable.
KEEP_SECONDS = 7 * 24 * 3600
#: Bump to forget every cached shape after a change to what is cached.
CACHE_VERSION = 1

ANALYTICS_METRICS_SHOWN = ("metrics", "visits", "submissions", "drop-off", "dimensions")


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


#: All the waiting one CSV export may do for Tally (rate limits, outages): well inside
#: gunicorn's 30-second worker timeout.
EXPORT_MAX_WAIT_SECONDS = 10.0


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
    max_wait: float = EXPORT_MAX_WAIT_SECONDS,
) -> Iterator[Any]:
    """Every submission matching the filter, page after page, one Tally call per page and
    only when the consumer gets there (CSV export). Not cached: an export wants it all now.

    Rate limits and outages are waited out a few times (`Retry-After` honoured) while
    all the waiting of the export stays within `max_wait` seconds; past that, or when
    Tally asks for a longer pause, `ExportStopped` is raised at once (the file ends with
    "Export incomplete" instead of a worker killed mid-file). `on_questions` receives the
    first page's questions before its first submission is yielded.
    """
    page = 1
    waited = 0.0
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
                wait = float(getattr(exc, "retry_after", None) or 2.0 * attempt)
                if attempt == attempts or waited + wait > max_wait:
                    raise ExportStopped(f"{_why(exc)} on page {page}: {exc}") from exc
                (sleep or time.sleep)(wait)
                waited += wait
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


__all__ = [
    "FRESH_SECONDS",
    "KEEP_SECONDS",
    "ExportStopped",
    "Fetched",
    "FormRow",
    "FormsOverview",
    "TallySubmissionDetail",
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
