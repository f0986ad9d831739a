"""Read-only queries behind the Deliveries page, the Overview and the metrics: filter,
search, keyset pages, counts, queue lag, a form's outcomes. Each function runs a fixed
number of queries whatever the data.

The list is ordered newest first on (created_at, id), which the indexes
`delivery_recent`, `delivery_status_recent` and `delivery_mapping_recent` serve; a page is
found by keyset (the last row's (created_at, id)), never by OFFSET, so page 1,000 costs
what page 1 costs.
"""

from __future__ import annotations

import base64
import functools
import operator
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import BooleanField, Count, F, Func, Q, QuerySet, Value
from django.db.models.functions import Substr
from django.utils import timezone

from ..csvsafe import safe_cell
from ..engine.marker import find_marker
from ..models import (
    AuditEvent,
    BulkRetry,
    Delivery,
    DeliveryAttempt,
    Installation,
    Mapping,
    Submission,
)
from .causes import cause_filter

PAGE_SIZE = 50
#: Counts per status stop here ("10,000+"): an exact count of a million rows costs more
#: than the page it sits on. "Retry all N matching" counts exactly, on its own page.
COUNT_CAP = 1_000
#: A search looks at the newest this many matching submissions for the page.
SEARCH_LIMIT = 500
#: Error text is searched among the newest this many deliveries with an error that match
#: the other filters: `last_error` has no text index, and a LIKE over every row of a
#: million-row table is a sequential scan (tests.bench.deliveries).
ERROR_SEARCH_WINDOW = 2_000
#: Statuses whose `last_error` says something (a reason, for skipped and routed ones).
ERROR_STATUSES = (
    Delivery.Status.FAILED,
    Delivery.Status.RETRYING,
    Delivery.Status.HELD,
    Delivery.Status.NEEDS_CHECK,
    Delivery.Status.CANCELLED,
    Delivery.Status.SKIPPED,
    Delivery.Status.ROUTED,
)
RUN_ID_MAX = Delivery._meta.get_field("run_id").max_length
DATE_PRESETS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
HTTP_CLASSES = ("2xx", "4xx", "5xx", "none")
#: Statuses in the order the page shows their counts.
STATUS_ORDER = [
    Delivery.Status.FAILED,
    Delivery.Status.NEEDS_CHECK,
    Delivery.Status.HELD,
    Delivery.Status.RETRYING,
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
    Delivery.Status.SUCCEEDED,
    Delivery.Status.SKIPPED,
    Delivery.Status.ROUTED,
    Delivery.Status.CANCELLED,
]


@dataclass(frozen=True)
class DeliveryFilters:
    """What the Deliveries page filters on (all optional)."""

    status: str = ""
    mapping_id: int | None = None
    form_id: str = ""
    preset: str = ""  # one of DATE_PRESETS
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    http: str = ""  # one of HTTP_CLASSES
    kind: str = ""  # a Mapping.Kind: launches or task completions
    q: str = ""
    # A cause of failure (`explain.cause_key`): the Overview's "N × …" groups link here.
    cause: str = ""
    # The search resolved to the newest matching submission ids (`search_resolved`), so a
    # page and its counts run the search once.
    search_ids: tuple[int, ...] | None = None
    # And to the newest matching deliveries by error text (`ERROR_SEARCH_WINDOW`).
    error_ids: tuple[int, ...] = ()

    @property
    def search_truncated(self) -> bool:
        return self.search_ids is not None and len(self.search_ids) >= SEARCH_LIMIT

    @property
    def reference(self) -> Reference | None:
        """The Kickoff reference the search is, if it is one."""
        return parse_reference(self.q)

    @property
    def delivery_id(self) -> int | None:
        """The delivery the search names with `#123`, if it does."""
        return parse_delivery_id(self.q)

    @property
    def searches_errors(self) -> bool:
        """Whether the search also reads error text: not for a `#id`, a reference, an
        e-mail address or an id (one token with a digit in it, not all digits: a run,
        submission or respondent id), which name their rows exactly; "422" still does."""
        q = self.q.strip()
        looks_like_id = _ID_LIKE.fullmatch(q) is not None and not q.isdigit()
        return (
            bool(q)
            and "@" not in q
            and not looks_like_id
            and self.delivery_id is None
            and self.reference is None
        )

    def without_status(self) -> DeliveryFilters:
        return replace(self, status="")

    @property
    def is_empty(self) -> bool:
        return replace(self, search_ids=None, error_ids=()) == DeliveryFilters()


_ID_LIKE = re.compile(r"[A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*")
_DELIVERY_ID = re.compile(r"#\s*([0-9]{1,18})")


def parse_delivery_id(q: str) -> int | None:
    """`#123` (the list shows each delivery's id so): delivery 123."""
    found = _DELIVERY_ID.fullmatch(q.strip())
    return int(found[1]) if found else None


#: `Delivery.marker`: kickoff-<install key>-delivery-<id>.
_MARKER = re.compile(r"kickoff-([0-9a-z]+)-delivery-([0-9]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    """A Kickoff reference pasted from a Tallyfy run: which install made it, for which delivery."""

    key: str
    delivery_id: int

    @property
    def is_ours(self) -> bool:
        return self.key == Installation.current().key

    @property
    def our_key(self) -> str:
        return Installation.current().key


def parse_reference(q: str) -> Reference | None:
    """The reference in `q`: the summary's whole line ("Kickoff reference: kickoff-…") or the
    marker alone; None when `q` is neither."""
    marker = find_marker(q) or q.strip()
    found = _MARKER.fullmatch(marker)
    if found is None:
        return None
    return Reference(key=found[1].lower(), delivery_id=int(found[2]))


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min), timezone.get_current_timezone())


def deliveries_filtered(
    filters: DeliveryFilters, *, now: datetime | None = None, search_limit: int | None = None
) -> QuerySet:
    """Deliveries matching `filters`, unordered and without related rows.

    `search_limit`: search only the newest that many matching submissions (one query more,
    run here); the page and its counts use it, the export and bulk retry take every match.
    """
    qs = Delivery.objects.all()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.mapping_id:
        qs = qs.filter(mapping_id=filters.mapping_id)
    if filters.kind:
        qs = qs.filter(mapping_id__in=Mapping.objects.filter(kind=filters.kind).values("pk"))
    if filters.form_id:
        # Through the (few) mappings of the form, so the mapping index does the work.
        qs = qs.filter(mapping_id__in=Mapping.objects.filter(form_id=filters.form_id).values("pk"))
    if filters.preset in DATE_PRESETS:
        qs = qs.filter(created_at__gte=(now or timezone.now()) - DATE_PRESETS[filters.preset])
    if filters.date_from:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    if filters.cause:
        qs = qs.filter(cause_filter(filters.cause))
    if filters.http == "none":
        qs = qs.filter(last_status_code__isnull=True)
    elif filters.http in ("2xx", "4xx", "5xx"):
        low = int(filters.http[0]) * 100
        qs = qs.filter(last_status_code__gte=low, last_status_code__lt=low + 100)
    q = filters.q.strip()
    reference = parse_reference(q) if q else None
    if filters.delivery_id is not None:
        qs = qs.filter(pk=filters.delivery_id)
    elif reference is not None:
        # A delivery's own reference: that delivery, if this install made it (another
        # install's delivery with the same id is not this one).
        qs = qs.filter(pk=reference.delivery_id) if reference.is_ours else qs.none()
    elif q:
        # A submission id or respondent id typed as is (indexes submission_by_id,
        # submission_by_respondent), or words of an answer (full-text index on PostgreSQL).
        # Resolved inside the submissions table (one bitmap over its three indexes). For
        # pages, first and as a list of the newest SEARCH_LIMIT matches: as a subquery the
        # planner cannot tell one match from fifty thousand and may walk every delivery.
        if filters.search_ids is not None:
            found = list(filters.search_ids)
        else:
            found = _matching_submissions(q)
            if search_limit is not None:
                found = list(found.order_by("-pk").values_list("pk", flat=True)[:search_limit])
        match = Q(submission_id__in=found)
        if filters.searches_errors:
            if filters.search_ids is not None:
                match |= Q(pk__in=filters.error_ids)
            else:  # the export and bulk retry: every match, however old
                match |= Q(status__in=ERROR_STATUSES, last_error__icontains=q)
        if q.isascii() and q.isdigit():  # not "²": isdigit() alone lets int() fail
            match |= Q(pk=int(q))
        if len(q) <= RUN_ID_MAX and not any(c.isspace() for c in q):
            match |= Q(run_id=q)  # a Tallyfy run id (index delivery_by_run)
        qs = qs.filter(match)
    return qs


class _WordsMatch(Func):
    """PostgreSQL full-text match of every term of `query` in `text` ('simple' config: no
    stemming), served by the submission_search_parts index (migration 0012).

    The text is read with '@' and '.' as spaces and each term is a phrase of its parts, so
    an e-mail address matches whole ("maria.rivera@acme.com") or by whole parts
    ("rivera@acme", "acme.com"). Whole words, not prefixes: the planner cannot estimate a
    prefix (`'expo':*`) and walks the whole table newest-first for a rare one (2 s over a
    million submissions in tests.bench.deliveries, against 15 ms for the whole word).
    """

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        text, query = self.source_expressions
        text_sql, text_params = compiler.compile(text)
        terms = [_parts(t) for t in query.value.split()] or [""]
        phrases = " && ".join("phraseto_tsquery('simple'::regconfig, %s)" for _ in terms)
        sql = f"to_tsvector('simple'::regconfig, translate({text_sql}, '@.', '  ')) @@ ({phrases})"
        return sql, (*text_params, *terms)


def _parts(term: str) -> str:
    """A search term as the index reads text: '@' and '.' are spaces."""
    return term.replace("@", " ").replace(".", " ")


def _matching_submissions(q: str) -> QuerySet:
    return Submission.objects.filter(
        Q(submission_id=q) | Q(respondent_id=q) | _answer_text(q)
    ).values("pk")


def search_resolved(filters: DeliveryFilters) -> DeliveryFilters:
    """`filters` with its search turned into the newest SEARCH_LIMIT matching submission
    ids (one query), for a page and its counts to share."""
    q = filters.q.strip()
    if not q or filters.search_ids is not None:
        return filters
    if parse_reference(q) is not None or filters.delivery_id is not None:
        return replace(filters, search_ids=())  # one delivery, no text search
    ids = _matching_submissions(q).order_by("-pk").values_list("pk", flat=True)[:SEARCH_LIMIT]
    errors = _matching_errors(filters) if filters.searches_errors else ()
    return replace(filters, search_ids=tuple(ids), error_ids=errors)


def _matching_errors(filters: DeliveryFilters) -> tuple[int, ...]:
    """The newest matching deliveries whose error text contains the search, among the
    newest ERROR_SEARCH_WINDOW with an error that match the other filters (one query: an
    index scan bounded by the window, then a LIKE over at most that many rows)."""
    # Without the status filter: the status chips count the same matches as the page.
    others = deliveries_filtered(replace(filters, q="", status=""))
    others = others.filter(status__in=ERROR_STATUSES)
    window = others.order_by("-created_at", "-id").values("pk")[:ERROR_SEARCH_WINDOW]
    found = (
        Delivery.objects.filter(pk__in=window, last_error__icontains=filters.q.strip())
        .order_by("-pk")
        .values_list("pk", flat=True)[:SEARCH_LIMIT]
    )
    return tuple(found)


def _answer_text(q: str) -> Q:
    """Answer text with every word of `q`: as whole words on PostgreSQL (indexed), as
    substrings elsewhere."""
    if connection.vendor == "postgresql":
        return Q(_WordsMatch(F("search_text"), Value(q)))
    words = q.split()
    return functools.reduce(operator.and_, (Q(search_text__icontains=w) for w in words), Q())


# --- keyset pages ------------------------------------------------------------------------


def encode_cursor(created_at: datetime, pk: int) -> str:
    raw = f"{created_at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """(created_at, id) from a cursor, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.rsplit("|", 1)
        when = datetime.fromisoformat(stamp)
        if timezone.is_naive(when):
            return None
        return when, int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class DeliveryPage:
    rows: list[Delivery]
    next_cursor: str | None


#: What a row shows; the heavy submission columns (raw body, payload, search text) stay out.
ROW_FIELDS = (
    "id",
    "status",
    "attempt_count",
    "next_attempt_at",
    "run_id",
    "run_url",
    "last_error",
    "last_status_code",
    "created_at",
    "updated_at",
    "mapping_id",
    "mapping_version_id",
    "submission_id",
    "submission__id",
    "submission__form_id",
    "submission__form_name",
    "submission__submission_id",
    "submission__respondent_id",
    "submission__submitted_at",
    "submission__received_at",
    "mapping__id",
    "mapping__name",
    "mapping__kind",
    "mapping__step_name",
    "mapping__current_version_id",
    "mapping_version__id",
    "mapping_version__number",
)


#: Who a row is about is the first e-mail address among the answers; it is read from the
#: head of the flattened answer text, not from the payload (a row stays cheap).
WHO_TEXT_CHARS = 600


def with_row_data(qs: QuerySet) -> QuerySet:
    return (
        qs.select_related("submission", "mapping", "mapping_version")
        .only(*ROW_FIELDS)
        .annotate(answers_head=Substr("submission__search_text", 1, WHO_TEXT_CHARS))
    )


def deliveries_page(
    filters: DeliveryFilters, *, cursor: str = "", size: int = PAGE_SIZE
) -> DeliveryPage:
    """One page, newest first, after `cursor` (one query; two with a search)."""
    qs = deliveries_filtered(filters, search_limit=SEARCH_LIMIT)
    after = decode_cursor(cursor) if cursor else None
    if after:
        when, pk = after
        # `created_at <= when` bounds the index scan; the OR breaks ties on id.
        qs = qs.filter(created_at__lte=when).filter(
            Q(created_at__lt=when) | Q(created_at=when, pk__lt=pk)
        )
    rows = list(with_row_data(qs).order_by("-created_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return DeliveryPage(
        rows=rows,
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].pk) if more and rows else None,
    )


@dataclass
class StatusCount:
    status: str
    label: str
    count: int
    capped: bool

    @property
    def shown(self) -> str:
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"


def status_counts(filters: DeliveryFilters, *, cap: int | None = None) -> list[StatusCount]:
    """How many deliveries of each status match the other filters (one query per status,
    each stopping at `cap`; one more with a search)."""
    cap = COUNT_CAP if cap is None else cap
    base = deliveries_filtered(filters.without_status(), search_limit=SEARCH_LIMIT)
    if filters.search_ids is not None:
        # A resolved search bounds the rows (at most SEARCH_LIMIT submissions): one grouped
        # count is cheaper than a capped count per status over the id list.
        grouped = dict(base.order_by().values_list("status").annotate(n=Count("id")))
        return [
            StatusCount(
                status=s,
                label=s.label,
                count=min(grouped.get(s, 0), cap),
                capped=grouped.get(s, 0) > cap,
            )
            for s in STATUS_ORDER
        ]
    out = []
    for status in STATUS_ORDER:
        n = base.filter(status=status).order_by().values("pk")[: cap + 1].count()
        out.append(
            StatusCount(status=status, label=status.label, count=min(n, cap), capped=n > cap)
        )
    return out


def retryable_count(filters: DeliveryFilters) -> int:
    """Exactly how many matching deliveries "Retry all" would send (Delivery.BULK_RETRYABLE)."""
    return deliveries_filtered(filters).filter(status__in=Delivery.BULK_RETRYABLE).count()


def delivery_for_page(pk: int) -> Delivery | None:
    """A delivery with what its page shows (one query); attempts come separately."""
    return (
        Delivery.objects.select_related(
            "submission", "mapping", "mapping_version", "mapping__current_version"
        )
        .filter(pk=pk)
        .first()
    )


def delivery_attempts(delivery: Delivery) -> list[DeliveryAttempt]:
    """Its attempts, oldest first, with who triggered each and the version used."""
    return list(
        DeliveryAttempt.objects.filter(delivery=delivery)
        .select_related("triggered_by", "mapping_version")
        .prefetch_related("calls")
        .order_by("number")
    )


def delivery_audit_events(delivery: Delivery) -> list[AuditEvent]:
    """The newest 20 audit entries about a delivery (retries, cancels), with who did it."""
    return list(
        AuditEvent.objects.filter(object_type="Delivery", object_id=str(delivery.pk))
        .select_related("actor")
        .order_by("-created_at", "-id")[:20]
    )


def delivery_bulk_retries(delivery: Delivery) -> list[BulkRetry]:
    return list(BulkRetry.objects.filter(items__delivery=delivery).order_by("-created_at")[:5])


def running_bulk_retries() -> list[BulkRetry]:
    return list(
        BulkRetry.objects.filter(status=BulkRetry.Status.RUNNING)
        .select_related("created_by")
        .order_by("-created_at")[:5]
    )


def export_rows(filters: DeliveryFilters):
    """Tuples for the CSV export, newest first, streamed from the database."""
    qs = (
        deliveries_filtered(filters)
        .order_by("-created_at", "-id")
        .values_list(
            "pk",
            "created_at",
            "submission__submitted_at",
            "submission__form_id",
            "submission__form_name",
            "submission__submission_id",
            "submission__respondent_id",
            "mapping__name",
            "mapping_version__number",
            "status",
            "attempt_count",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "run_id",
            "run_url",
        )
    )
    # Form names, ids and errors come from vendors: no cell may run as a formula.
    return (
        tuple(safe_cell(v) if isinstance(v, str) else v for v in row)
        for row in qs.iterator(chunk_size=2000)
    )


# --- one Tally submission, one Tally form -------------------------------------------


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


# --- the Overview ------------------------------------------------------------------------
