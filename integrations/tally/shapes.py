"""Tally's REST shapes as small dataclasses, and the parsers that build them (no HTTP).

Each keeps the vendor's dict in `raw` because Tally's shapes are open and depend on the
`tally-version` header; a body missing what Kickoff needs raises `malformed` (docs/vendor-notes.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from integrations.coerce import as_bool, as_datetime, as_dict, as_int, as_list, as_str
from integrations.http import Page, malformed

VENDOR = "tally"
T = TypeVar("T")


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


def as_object(body: Any, what: str) -> dict[str, Any]:
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


def parse_questions(value: Any) -> list[TallyQuestion]:
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


def parse_page(
    body: Any,
    key: str,
    parse: Callable[[dict[str, Any]], T],
    total_key: str | None,
    page: int,
) -> Page[T]:
    """Tally pages: page + hasMore, but the list sits under a different key per endpoint."""
    body = as_object(body, f"{key} page")
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
