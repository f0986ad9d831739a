"""Tally REST API client: forms, submissions, analytics, webhooks and their delivery log.

Knows HTTP and Tally's shapes only (no ORM). Every response is parsed into a small
dataclass of `integrations.tally.shapes`. Failures raise `integrations.http.ApiError`s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx
from django.conf import settings

from integrations.coerce import as_dict
from integrations.http import ApiError, Page, iter_pages
from integrations.jsonapi import JsonApi
from integrations.ratelimit import Throttle

from .ids import TALLY_ID_RULE, is_tally_id
from .shapes import (
    VENDOR,
    SubmissionPage,
    TallyAnalytics,
    TallyForm,
    TallyQuestion,
    TallySubmission,
    TallySubmissionDetail,
    TallyUser,
    TallyWebhook,
    TallyWebhookEvent,
    as_object,
    parse_analytics,
    parse_form,
    parse_page,
    parse_questions,
    parse_submission,
    parse_user,
    parse_webhook,
    parse_webhook_event,
)

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


class InvalidId(ApiError):
    """An id is not in Tally's format; refused before any request is made."""


def _id(value: str, what: str) -> str:
    """`value` as one path segment: checked against Tally's id format, then encoded, so an
    id such as `../../users/me` can never reach another endpoint with the account's token."""
    if not is_tally_id(value):
        raise InvalidId(
            f"{what} {str(value)[:40]!r} is not a Tally id ({TALLY_ID_RULE}).",
            vendor=VENDOR,
        )
    return quote(value, safe="")


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
        return parse_user(as_object(self._api.request("GET", "/users/me"), "user"))

    def list_forms(self, page: int = 1) -> Page[TallyForm]:
        """One page of the user's forms (`items`), at Tally's default page size."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/list
        body = self._api.request("GET", "/forms", params={"page": page})
        return parse_page(body, "items", parse_form, "total", page)

    def iter_forms(self) -> Iterator[TallyForm]:
        """Every form, page after page."""
        return iter_pages(self.list_forms)

    def get_form(self, form_id: str) -> TallyForm:
        """One form with its blocks and settings."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/get
        return parse_form(
            as_object(self._api.request("GET", f"/forms/{_id(form_id, 'form id')}"), "form")
        )

    def get_questions(self, form_id: str) -> list[TallyQuestion]:
        """The form's questions, each with its input fields."""
        # Docs: https://developers.tally.so/api-reference/endpoint/forms/questions/list
        body = self._api.request("GET", f"/forms/{_id(form_id, 'form id')}/questions")
        if isinstance(body, list):
            return parse_questions(body)
        return parse_questions(as_object(body, "questions").get("questions"))

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
            f"/forms/{_id(form_id, 'form id')}/submissions",
            params={
                "page": page,
                "limit": min(limit, MAX_PAGE_SIZE) if limit else None,
                "filter": filter,
                "startDate": _date_param(start_date),
                "endDate": _date_param(end_date),
                "afterId": after_id,
            },
        )
        base = parse_page(body, "submissions", parse_submission, None, page or 1)
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
            questions=parse_questions(base.raw.get("questions")),
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
        path = f"/forms/{_id(form_id, 'form id')}/submissions/{_id(submission_id, 'submission id')}"
        body = as_object(self._api.request("GET", path), "submission")
        inner = body.get("submission")
        submission = parse_submission(inner if isinstance(inner, dict) else body)
        return TallySubmissionDetail(submission, parse_questions(body.get("questions")))

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
            "GET", f"/forms/{_id(form_id, 'form id')}/analytics/{metric}", params={"period": period}
        )
        return parse_analytics(metric, period, body)

    # --- webhooks ------------------------------------------------------------------------

    def list_webhooks(self, page: int = 1) -> Page[TallyWebhook]:
        """One page of the account's webhooks (`webhooks`)."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/list
        body = self._api.request("GET", "/webhooks", params={"page": page})
        return parse_page(body, "webhooks", parse_webhook, "totalCount", page)

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
        body: dict[str, Any] = {
            "formId": _id(form_id, "form id"),
            "url": url,
            "eventTypes": ["FORM_RESPONSE"],
        }
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
        return parse_webhook(as_object(created, "created webhook"))

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
            f"/webhooks/{_id(webhook_id, 'webhook id')}",
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
        self._api.request("DELETE", f"/webhooks/{_id(webhook_id, 'webhook id')}")

    def list_webhook_events(self, webhook_id: str, page: int = 1) -> Page[TallyWebhookEvent]:
        """One page (25) of a webhook's delivery log (`events`)."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/events/list
        body = self._api.request(
            "GET", f"/webhooks/{_id(webhook_id, 'webhook id')}/events", params={"page": page}
        )
        return parse_page(body, "events", parse_webhook_event, "totalNumberOfEvents", page)

    def iter_webhook_events(self, webhook_id: str) -> Iterator[TallyWebhookEvent]:
        """A webhook's whole delivery log."""
        return iter_pages(lambda page: self.list_webhook_events(webhook_id, page))

    def redeliver_event(self, webhook_id: str, event_id: str) -> None:
        """Ask Tally to deliver one logged event again (no `/retry` suffix)."""
        # Docs: https://developers.tally.so/api-reference/endpoint/webhooks/events/retry
        path = f"/webhooks/{_id(webhook_id, 'webhook id')}/events/{_id(event_id, 'event id')}"
        self._api.request("POST", path)
