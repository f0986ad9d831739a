"""Tally REST API client: forms, submissions, analytics, webhooks and their delivery log.

Knows HTTP and Tally's shapes only (no ORM). Every response is parsed into a small
dataclass here; each keeps the vendor's dict in `raw` because Tally's shapes are open and
depend on the `tally-version` header. Failures raise `integrations.http.ApiError`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeVar

import httpx
from django.conf import settings

from integrations.coerce import as_bool, as_datetime, as_dict, as_int, as_list, as_str
from integrations.http import Page, iter_pages, malformed
from integrations.jsonapi import JsonApi
from integrations.ratelimit import Throttle

VENDOR = "tally"
T = TypeVar("T")

AnalyticsMetric = Literal["metrics", "visits", "submissions", "dimensions", "drop-off"]
AnalyticsPeriod = Literal["today", "yesterday", "24h", "7d", "30d", "3m", "6m", "12m", "all"]
SubmissionFilter = Literal["all", "completed", "partial"]

ANALYTICS_METRICS: tuple[str, ...] = ("metrics", "visits", "submissions", "dimensions", "drop-off")
ANALYTICS_PERIODS: tuple[str, ...] = (
    "today",
    "yesterday",
    "24h",
    "7d",
    "30d",
    "3m",
    "6m",
    "12m",
    "all",
)
SUBMISSION_FILTERS: tuple[str, ...] = ("all", "completed", "partial")
#: The most submissions one page may hold. Only the submissions list documents `limit`;
#: forms are paged at Tally's default size (50), so no `limit` is sent there.
MAX_PAGE_SIZE = 500


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------


@dataclass
class TallyUser:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    full_name: str | None
    organization_id: str | None
    subscription_plan: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TallyForm:
    id: str
    name: str
    status: str | None
    workspace_id: str | None = None
    number_of_submissions: int | None = None
    is_closed: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list, repr=False)
    settings: dict[str, Any] = field(default_factory=dict, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TallyQuestionField:
    uuid: str
    type: str | None
    block_group_uuid: str | None
    title: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TallyQuestion:
    """A question. `id` (what webhook keys are built from, `question_<id>`) is empty in the
    `{uuid, type, title}` shape one API reference shows; its inputs are then learned from
    the form's webhook payloads (integrations/tally/learned.py)."""

    id: str
    type: str | None
    title: str | None
    fields: list[TallyQuestionField] = field(default_factory=list)
    uuid: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TallyResponse:
    """One answer; `answer` is the value whether Tally called it `answer` or `value`."""

    id: str | None
    question_id: str | None
    answer: Any
    formatted_answer: Any = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TallySubmission:
    id: str
    form_id: str | None
    respondent_id: str | None
    is_completed: bool
    submitted_at: datetime | None
    responses: list[TallyResponse] = field(default_factory=list)
    preview_url: str | None = None
    pdf_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TallySubmissionDetail:
    """`GET /forms/{id}/submissions/{sid}`: one submission and the form's questions."""

    submission: TallySubmission
    questions: list[TallyQuestion]


@dataclass
class SubmissionPage(Page[TallySubmission]):
    """A submissions page also carries the questions and the count per filter."""

    questions: list[TallyQuestion] = field(default_factory=list, repr=False)
    totals: dict[str, int] = field(default_factory=dict)


@dataclass
class AnalyticsBucket:
    """One point of a time series, e.g. key="2025-03-01", values={"totalVisits": 12}."""

    key: str
    values: dict[str, float | int]


@dataclass
class TallyAnalytics:
    """One analytics metric, normalised but never lossy (`raw` is the body as sent).

    - metrics: `totals` holds the counters.
    - visits / submissions: `series` holds one bucket per interval; `interval` its unit.
    - drop-off: `totals` holds `stats`, `rows` the per-question rows; `available` is False
      when Tally answered `null` (no data yet).
    - dimensions and unknown shapes: look at `raw`.
    """

    metric: str
    period: str
    available: bool
    totals: dict[str, float | int] = field(default_factory=dict)
    series: list[AnalyticsBucket] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    interval: str | None = None
    data_available_since: str | None = None
    has_conditional_logic: bool | None = None
    raw: Any = field(default=None, repr=False)


@dataclass
class TallyWebhook:
    id: str
    form_id: str | None
    url: str | None
    is_enabled: bool
    event_types: list[str] = field(default_factory=list)
    signing_secret: str | None = field(default=None, repr=False)
    created_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TallyWebhookEvent:
    id: str
    webhook_id: str | None
    event_type: str | None
    delivery_status: str | None  # QUEUED | SUCCEEDED | FAILED | DROPPED
    status_code: int | None
    retry: int | None
    created_at: datetime | None
    response: Any = field(default=None, repr=False)
    payload: Any = field(default=None, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise malformed(VENDOR, f"{what} is not an object")
    return body


def _require_id(data: Mapping[str, Any], what: str) -> str:
    value = as_str(data.get("id"))
    if not value:
        raise malformed(VENDOR, f"{what} without an id")
    return value


def parse_user(data: dict[str, Any]) -> TallyUser:
    return TallyUser(
        id=_require_id(data, "user"),
        email=as_str(data.get("email")),
        first_name=as_str(data.get("firstName")),
        last_name=as_str(data.get("lastName")),
        full_name=as_str(data.get("fullName")),
        organization_id=as_str(data.get("organizationId")),
        subscription_plan=as_str(data.get("subscriptionPlan")),
        raw=data,
    )


def parse_form(data: dict[str, Any]) -> TallyForm:
    return TallyForm(
        id=_require_id(data, "form"),
        name=as_str(data.get("name")) or "",
        status=as_str(data.get("status")),
        workspace_id=as_str(data.get("workspaceId")),
        number_of_submissions=as_int(data.get("numberOfSubmissions")),
        is_closed=as_bool(data.get("isClosed")),
        created_at=as_datetime(data.get("createdAt")),
        updated_at=as_datetime(data.get("updatedAt")),
        blocks=[b for b in as_list(data.get("blocks")) if isinstance(b, dict)],
        settings=as_dict(data.get("settings")),
        raw=data,
    )


def parse_question(data: dict[str, Any]) -> TallyQuestion:
    return TallyQuestion(
        id=as_str(data.get("id")) or "",
        type=as_str(data.get("type")),
        title=as_str(data.get("title")),
        fields=[
            TallyQuestionField(
                uuid=as_str(f.get("uuid")) or "",
                type=as_str(f.get("type")),
                block_group_uuid=as_str(f.get("blockGroupUuid")),
                title=as_str(f.get("title")),
                raw=f,
            )
            for f in as_list(data.get("fields"))
            if isinstance(f, dict)
        ],
        uuid=as_str(data.get("uuid")),
        raw=data,
    )


def _questions(value: Any) -> list[TallyQuestion]:
    return [parse_question(q) for q in as_list(value) if isinstance(q, dict)]


def parse_response(data: dict[str, Any]) -> TallyResponse:
    # REST docs say `answer`, the reference page says `value`: take whichever is present,
    # keeping falsy answers (False, 0, "") as real answers.
    answer = data["answer"] if "answer" in data else data.get("value")
    return TallyResponse(
        id=as_str(data.get("id")),
        question_id=as_str(data.get("questionId")),
        answer=answer,
        formatted_answer=data.get("formattedAnswer"),
        raw=data,
    )


def parse_submission(data: dict[str, Any]) -> TallySubmission:
    return TallySubmission(
        id=_require_id(data, "submission"),
        form_id=as_str(data.get("formId")),
        respondent_id=as_str(data.get("respondentId")),
        is_completed=as_bool(data.get("isCompleted", True)),
        submitted_at=as_datetime(data.get("submittedAt") or data.get("createdAt")),
        responses=[
            parse_response(r) for r in as_list(data.get("responses")) if isinstance(r, dict)
        ],
        preview_url=as_str(data.get("previewUrl")),
        pdf_url=as_str(data.get("pdfUrl")),
        raw=data,
    )


def parse_webhook(data: dict[str, Any]) -> TallyWebhook:
    return TallyWebhook(
        id=_require_id(data, "webhook"),
        form_id=as_str(data.get("formId")),
        url=as_str(data.get("url")),
        is_enabled=as_bool(data.get("isEnabled", True)),
        event_types=[str(e) for e in as_list(data.get("eventTypes"))],
        signing_secret=as_str(data.get("signingSecret")),
        created_at=as_datetime(data.get("createdAt")),
        raw=data,
    )


def parse_webhook_event(data: dict[str, Any]) -> TallyWebhookEvent:
    return TallyWebhookEvent(
        id=_require_id(data, "webhook event"),
        webhook_id=as_str(data.get("webhookId")),
        event_type=as_str(data.get("eventType")),
        delivery_status=as_str(data.get("deliveryStatus")),
        status_code=as_int(data.get("statusCode")),
        retry=as_int(data.get("retry")),
        created_at=as_datetime(data.get("createdAt")),
        response=data.get("response"),
        payload=data.get("payload"),
        raw=data,
    )


def _has_more(body: dict[str, Any], page: int, total: int | None) -> bool:
    if "hasMore" in body:
        return as_bool(body["hasMore"])
    limit = as_int(body.get("limit"))
    if total is not None and limit:
        return page * limit < total
    return False


def _page(
    body: Any,
    key: str,
    parse: Callable[[dict[str, Any]], T],
    total_key: str | None,
    page: int,
) -> Page[T]:
    """Tally pages: page + hasMore, but the list sits under a different key per endpoint."""
    body = _object(body, f"{key} page")
    items_raw = body.get(key)
    if not isinstance(items_raw, list):
        items_raw = body.get("items")
    items = [parse(i) for i in as_list(items_raw) if isinstance(i, dict)]
    total = as_int(body.get(total_key)) if total_key else None
    current = as_int(body.get("page")) or page
    return Page(
        items=items,
        has_more=_has_more(body, current, total),
        page=current,
        total=total,
        raw=body,
    )


def _numbers(value: Any) -> dict[str, float | int]:
    return {
        str(k): v
        for k, v in as_dict(value).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


_BUCKET_KEYS = ("date", "bucket", "period", "label", "key", "time", "timestamp", "day")


def _series(data: Any) -> list[AnalyticsBucket]:
    """Time series from `{bucket: {..numbers}}`, `{bucket: n}` or `[{date, ..numbers}]`."""
    out: list[AnalyticsBucket] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict):
                out.append(AnalyticsBucket(str(key), _numbers(value)))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                out.append(AnalyticsBucket(str(key), {"value": value}))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            if not isinstance(item, dict):
                continue
            key = next((str(item[k]) for k in _BUCKET_KEYS if item.get(k) is not None), str(i))
            out.append(AnalyticsBucket(key, _numbers(item)))
    return out


def parse_analytics(metric: str, period: str, body: Any) -> TallyAnalytics:
    """Normalise one analytics body; unknown shapes come back with only `raw` filled."""
    result = TallyAnalytics(metric=metric, period=period, available=body is not None, raw=body)
    if not isinstance(body, dict):
        return result
    if metric == "metrics":
        result.totals = _numbers(body.get("data") if isinstance(body.get("data"), dict) else body)
    elif metric in ("visits", "submissions"):
        result.series = _series(
            body.get("data", {k: v for k, v in body.items() if k != "interval"})
        )
        result.interval = as_str(body.get("interval"))
    elif metric == "drop-off":
        result.totals = _numbers(body.get("stats"))
        result.rows = [r for r in as_list(body.get("data")) if isinstance(r, dict)]
        result.data_available_since = as_str(body.get("dataAvailableSince"))
        if "hasConditionalLogic" in body:
            result.has_conditional_logic = as_bool(body.get("hasConditionalLogic"))
    else:
        data = body.get("data")
        result.rows = [r for r in as_list(data) if isinstance(r, dict)]
        result.totals = _numbers(data if isinstance(data, dict) else body)
    return result


def _date_param(value: date | datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


# ---------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------


class TallyClient:
    """One Tally account (API key or OAuth access token); cheap to construct per call."""

    def __init__(
        self,
        token: str,
        *,
        account_key: str,
        base_url: str | None = None,
        http: httpx.Client | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.account_key = account_key
        self._api = JsonApi(
            vendor=VENDOR,
            base_url=base_url or settings.TALLY_API_BASE_URL,
            token=token,
            headers={
                "Accept": "application/json",
                # Response shapes depend on this header.
                # Docs: https://developers.tally.so/api-reference/versioning
                "tally-version": settings.TALLY_API_VERSION,
            },
            rate=settings.TALLY_RATE_LIMIT,
            account=account_key,
            http=http,
            throttle=throttle,
        )

    def __repr__(self) -> str:
        return f"<TallyClient account={self.account_key!r}>"

    # --- user and forms ------------------------------------------------------------------

    def get_me(self) -> TallyUser:
        """The user the token belongs to."""
        # Docs: https://developers.tally.so/api-reference/endpoint/users/me/get
        return parse_user(_object(self._api.request("GET", "/users/me"), "user"))

    def list_forms(self, page: int = 1) -> Page[TallyForm]:
        """One page of the user's forms (`items`), at Tally's default page size."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/list
        body = self._api.request("GET", "/forms", params={"page": page})
        return _page(body, "items", parse_form, "total", page)

    def iter_forms(self) -> Iterator[TallyForm]:
        """Every form, page after page."""
        return iter_pages(self.list_forms)

    def get_form(self, form_id: str) -> TallyForm:
        """One form with its blocks and settings."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/get
        return parse_form(_object(self._api.request("GET", f"/forms/{form_id}"), "form"))

    def get_questions(self, form_id: str) -> list[TallyQuestion]:
        """The form's questions, each with its input fields."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/questions/list
        body = self._api.request("GET", f"/forms/{form_id}/questions")
        if isinstance(body, list):
            return _questions(body)
        return _questions(_object(body, "questions").get("questions"))

    # --- submissions ---------------------------------------------------------------------

    def list_submissions(
        self,
        form_id: str,
        *,
        page: int | None = None,
        limit: int | None = None,
        filter: SubmissionFilter = "all",
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        after_id: str | None = None,
    ) -> SubmissionPage:
        """One page of a form's submissions (`submissions`), newest first per Tally."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/submissions/list
        if filter not in SUBMISSION_FILTERS:
            raise ValueError(f"filter must be one of {SUBMISSION_FILTERS}, got {filter!r}")
        body = self._api.request(
            "GET",
            f"/forms/{form_id}/submissions",
            params={
                "page": page,
                "limit": min(limit, MAX_PAGE_SIZE) if limit else None,
                "filter": filter,
                "startDate": _date_param(start_date),
                "endDate": _date_param(end_date),
                "afterId": after_id,
            },
        )
        base = _page(body, "submissions", parse_submission, None, page or 1)
        totals = {
            str(k): v
            for k, v in as_dict(base.raw.get("totalNumberOfSubmissionsPerFilter")).items()
            if isinstance(v, int)
        }
        return SubmissionPage(
            items=base.items,
            has_more=base.has_more,
            page=base.page,
            total=totals.get(filter),
            raw=base.raw,
            questions=_questions(base.raw.get("questions")),
            totals=totals,
        )

    def iter_submissions(
        self,
        form_id: str,
        *,
        limit: int = MAX_PAGE_SIZE,
        filter: SubmissionFilter = "all",
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        after_id: str | None = None,
    ) -> Iterator[TallySubmission]:
        """Every submission matching the filters, page after page."""
        return iter_pages(
            lambda page: self.list_submissions(
                form_id,
                page=page,
                limit=limit,
                filter=filter,
                start_date=start_date,
                end_date=end_date,
                after_id=after_id,
            )
        )

    def get_submission(self, form_id: str, submission_id: str) -> TallySubmissionDetail:
        """One submission (with `formattedAnswer`s) and the form's questions."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/submissions/get
        body = _object(
            self._api.request("GET", f"/forms/{form_id}/submissions/{submission_id}"),
            "submission",
        )
        inner = body.get("submission")
        submission = parse_submission(inner if isinstance(inner, dict) else body)
        return TallySubmissionDetail(submission, _questions(body.get("questions")))

    # --- analytics -----------------------------------------------------------------------

    def get_analytics(
        self, form_id: str, metric: AnalyticsMetric, period: AnalyticsPeriod
    ) -> TallyAnalytics:
        """One analytics metric of a form over a period (`null` body: no data yet)."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/analytics/metrics
        if metric not in ANALYTICS_METRICS:
            raise ValueError(f"metric must be one of {ANALYTICS_METRICS}, got {metric!r}")
        if period not in ANALYTICS_PERIODS:
            raise ValueError(f"period must be one of {ANALYTICS_PERIODS}, got {period!r}")
        body = self._api.request(
            "GET", f"/forms/{form_id}/analytics/{metric}", params={"period": period}
        )
        return parse_analytics(metric, period, body)

    # --- webhooks ------------------------------------------------------------------------

    def list_webhooks(self, page: int = 1) -> Page[TallyWebhook]:
        """One page of the account's webhooks (`webhooks`)."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/list
        body = self._api.request("GET", "/webhooks", params={"page": page})
        return _page(body, "webhooks", parse_webhook, "totalCount", page)

    def iter_webhooks(self) -> Iterator[TallyWebhook]:
        """Every webhook of the account."""
        return iter_pages(self.list_webhooks)

    def create_webhook(
        self,
        form_id: str,
        url: str,
        signing_secret: str | None,
        http_headers: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
        external_subscriber: str | None = None,
    ) -> TallyWebhook:
        """Subscribe `url` to the form's FORM_RESPONSE events."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/create
        body: dict[str, Any] = {"formId": form_id, "url": url, "eventTypes": ["FORM_RESPONSE"]}
        if signing_secret:
            body["signingSecret"] = signing_secret
        if http_headers:
            body["httpHeaders"] = (
                [{"name": k, "value": v} for k, v in http_headers.items()]
                if isinstance(http_headers, Mapping)
                else [dict(h) for h in http_headers]
            )
        if external_subscriber:
            body["externalSubscriber"] = external_subscriber
        created = self._api.request("POST", "/webhooks", json_body=body)
        return parse_webhook(_object(created, "created webhook"))

    def update_webhook(
        self,
        webhook_id: str,
        *,
        form_id: str,
        url: str,
        event_types: Sequence[str],
        is_enabled: bool,
    ) -> TallyWebhook | None:
        """Change a webhook; Tally wants all four fields on every PATCH."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/update
        body = self._api.request(
            "PATCH",
            f"/webhooks/{webhook_id}",
            json_body={
                "formId": form_id,
                "url": url,
                "eventTypes": list(event_types),
                "isEnabled": is_enabled,
            },
        )
        return parse_webhook(body) if isinstance(body, dict) and body.get("id") else None

    def delete_webhook(self, webhook_id: str) -> None:
        """Remove a webhook."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/delete
        self._api.request("DELETE", f"/webhooks/{webhook_id}")

    def list_webhook_events(self, webhook_id: str, page: int = 1) -> Page[TallyWebhookEvent]:
        """One page (25) of a webhook's delivery log (`events`)."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/events/list
        body = self._api.request("GET", f"/webhooks/{webhook_id}/events", params={"page": page})
        return _page(body, "events", parse_webhook_event, "totalNumberOfEvents", page)

    def iter_webhook_events(self, webhook_id: str) -> Iterator[TallyWebhookEvent]:
        """A webhook's whole delivery log."""
        return iter_pages(lambda page: self.list_webhook_events(webhook_id, page))

    def redeliver_event(self, webhook_id: str, event_id: str) -> None:
        """Ask Tally to deliver one logged event again (no `/retry` suffix)."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/events/retry
        self._api.request("POST", f"/webhooks/{webhook_id}/events/{event_id}")
