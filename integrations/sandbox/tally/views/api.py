"""The sandbox Tally REST API under /sandbox/tally/api (shapes from docs/vendor-notes.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import analytics, services, shapes
from ..models import Form, Submission, Webhook, WebhookEvent
from .common import (
    BadRequest,
    api_view,
    error,
    json_response,
    not_found,
    paging,
    read_json,
    validation_error,
)

EVENTS_PER_PAGE = 25


def _own_form(request: HttpRequest, form_id: str) -> Form | None:
    return Form.objects.select_related("owner").filter(id=form_id, owner=request.tally.user).first()


# --- User, forms -------------------------------------------------------------------------


@api_view(["GET"], scope="user")
def users_me(request: HttpRequest) -> HttpResponse:
    user = request.tally.user
    return json_response(
        {
            "id": user.id,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "fullName": user.full_name,
            "email": user.email,
            "avatarUrl": None,
            "organizationId": user.organization_id,
            "subscriptionPlan": user.subscription_plan,
            "isDeleted": False,
            "hasTwoFactorEnabled": False,
            "createdAt": shapes.iso(user.created_at),
            "updatedAt": shapes.iso(user.created_at),
        }
    )


@api_view(["GET"], scope="forms")
def forms_list(request: HttpRequest) -> HttpResponse:
    page, limit = paging(request)
    forms = (
        Form.objects.filter(owner=request.tally.user)
        .select_related("owner")
        .annotate(n=Count("submissions"))
        .order_by("-created_at", "id")
    )
    total = forms.count()
    rows = list(forms[(page - 1) * limit : page * limit])
    return json_response(
        {
            "items": [shapes.form_list_item(f, f.n) for f in rows],
            "page": page,
            "limit": limit,
            "total": total,
            "hasMore": page * limit < total,
        }
    )


@api_view(["GET"], scope="forms")
def form_detail(request: HttpRequest, form_id: str) -> HttpResponse:
    form = _own_form(request, form_id)
    if form is None:
        return not_found("Form")
    return json_response(shapes.form_detail(form))


@api_view(["GET"], scope="forms")
def form_questions(request: HttpRequest, form_id: str) -> HttpResponse:
    form = _own_form(request, form_id)
    if form is None:
        return not_found("Form")
    return json_response(
        {"questions": shapes.questions_json(form), "hasResponses": form.submissions.exists()}
    )


# --- Submissions ---------------------------------------------------------------------------


def _date_param(request: HttpRequest, name: str, *, end: bool) -> datetime | None:
    raw = request.GET.get(name)
    if not raw:
        return None
    dt = None
    try:
        dt = parse_datetime(raw.replace("Z", "+00:00"))
        if dt is None:
            day = date.fromisoformat(raw)
            # A bare date: the whole day counts (endDate inclusive).
            dt = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    except ValueError:
        dt = None
    if dt is None:
        raise BadRequest(name, f"{name} must be an ISO 8601 date or date-time")
    if timezone.is_naive(dt):
        dt = timezone.make_aware(dt, UTC)
    return dt


@api_view(["GET"], scope="responses")
def submissions_list(request: HttpRequest, form_id: str) -> HttpResponse:
    form = _own_form(request, form_id)
    if form is None:
        return not_found("Form")
    page, limit = paging(request)
    status = request.GET.get("filter") or "all"
    if status not in ("all", "completed", "partial"):
        raise BadRequest("filter", "filter must be one of all, completed, partial")
    scope = Submission.objects.filter(form=form)
    start = _date_param(request, "startDate", end=False)
    end_raw = request.GET.get("endDate", "")
    end = _date_param(request, "endDate", end=True)
    if start:
        scope = scope.filter(submitted_at__gte=start)
    if end:
        # A bare date was turned into the next midnight (exclusive); a date-time is inclusive.
        scope = scope.filter(
            submitted_at__lt=end if len(end_raw) == 10 else end + timedelta(microseconds=1)
        )
    after_id = request.GET.get("afterId")
    if after_id:
        anchor = Submission.objects.filter(form=form, public_id=after_id).first()
        if anchor is None:
            raise BadRequest("afterId", "afterId is not a submission of this form")
        # Strictly after the anchor in submission order (submitted_at, then insertion).
        scope = scope.filter(
            Q(submitted_at__gt=anchor.submitted_at)
            | Q(submitted_at=anchor.submitted_at, pk__gt=anchor.pk)
        )
    counts = scope.aggregate(
        all=Count("id"),
        completed=Count("id", filter=Q(is_completed=True)),
        partial=Count("id", filter=Q(is_completed=False)),
    )
    if status != "all":
        scope = scope.filter(is_completed=status == "completed")
    # Newest first; fetch one extra row to know hasMore without another COUNT.
    rows = list(scope.order_by("-submitted_at", "-pk")[(page - 1) * limit : page * limit + 1])
    has_more = len(rows) > limit
    return json_response(
        {
            "page": page,
            "limit": limit,
            "hasMore": has_more,
            "totalNumberOfSubmissionsPerFilter": counts,
            "questions": shapes.questions_json(form),
            "submissions": [shapes.submission_json(s, form) for s in rows[:limit]],
        }
    )


@api_view(["GET"], scope="responses")
def submission_detail(request: HttpRequest, form_id: str, submission_id: str) -> HttpResponse:
    form = _own_form(request, form_id)
    if form is None:
        return not_found("Form")
    sub = Submission.objects.filter(form=form, public_id=submission_id).first()
    if sub is None:
        return not_found("Submission")
    body = shapes.submission_json(sub, form, formatted=True)
    base = request.build_absolute_uri("/").rstrip("/")
    body["previewUrl"] = f"{base}/sandbox/tally/forms/{form.id}/submissions/{sub.public_id}"
    body["pdfUrl"] = None
    return json_response({"questions": shapes.questions_json(form), "submission": body})


# --- Analytics ---------------------------------------------------------------------------

_ANALYTICS = {
    "metrics": analytics.metrics,
    "visits": analytics.visits_series,
    "submissions": analytics.submissions_series,
    "dimensions": analytics.dimensions,
    "drop-off": analytics.drop_off,
}


@api_view(["GET"], scope="forms")
def form_analytics(request: HttpRequest, form_id: str, metric: str) -> HttpResponse:
    if metric not in _ANALYTICS:
        return not_found("Analytics endpoint")
    form = _own_form(request, form_id)
    if form is None:
        return not_found("Form")
    period = request.GET.get("period")
    if period not in analytics.PERIODS:
        raise BadRequest("period", "period is required: one of " + ", ".join(analytics.PERIODS))
    return json_response(_ANALYTICS[metric](form, period))


# --- Webhooks -------------------------------------------------------------------------------


def _validate_webhook(request: HttpRequest, data: dict, *, patch: bool) -> list[dict]:
    errors = []
    if patch:
        missing = [k for k in ("formId", "url", "eventTypes", "isEnabled") if k not in data]
        errors += [{"field": k, "message": f"{k} is required"} for k in missing]
        if missing:
            return errors
    for key in ("formId", "url", "eventTypes"):
        if key not in data and {"field": key, "message": f"{key} is required"} not in errors:
            errors.append({"field": key, "message": f"{key} is required"})
    if errors:
        return errors
    url = data["url"]
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        errors.append({"field": "url", "message": "url must be an http(s) URL"})
    events = data["eventTypes"]
    if not isinstance(events, list) or not events or set(events) - {"FORM_RESPONSE"}:
        errors.append({"field": "eventTypes", "message": 'eventTypes must be ["FORM_RESPONSE"]'})
    headers = data.get("httpHeaders") or []
    if not isinstance(headers, list) or not all(
        isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
        for h in headers
    ):
        errors.append({"field": "httpHeaders", "message": "httpHeaders must be [{name, value}]"})
    secret = data.get("signingSecret")
    if secret is not None and not isinstance(secret, str):
        errors.append({"field": "signingSecret", "message": "signingSecret must be a string"})
    if "isEnabled" in data and not isinstance(data["isEnabled"], bool):
        errors.append({"field": "isEnabled", "message": "isEnabled must be a boolean"})
    return errors


def _own_webhook(request: HttpRequest, webhook_id: str) -> Webhook | None:
    return Webhook.objects.filter(id=webhook_id, form__owner=request.tally.user).first()


@api_view(["GET", "POST"], scope="webhooks")
def webhooks_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        data = read_json(request)
        errors = _validate_webhook(request, data, patch=False)
        if errors:
            return validation_error(errors)
        form = _own_form(request, str(data["formId"]))
        if form is None:
            return not_found("Form")
        hook = Webhook.objects.create(
            id=services.new_id(),
            form=form,
            url=data["url"],
            signing_secret=data.get("signingSecret") or "",
            http_headers=data.get("httpHeaders") or [],
            event_types=data["eventTypes"],
            external_subscriber=data.get("externalSubscriber") or "",
            is_enabled=data.get("isEnabled", True),
        )
        return json_response(services.webhook_json(hook), status=201)
    page, limit = paging(request, default_limit=25)
    hooks = Webhook.objects.filter(form__owner=request.tally.user).order_by("-created_at", "id")
    total = hooks.count()
    rows = list(hooks[(page - 1) * limit : page * limit])
    return json_response(
        {
            "webhooks": [services.webhook_json(h) for h in rows],
            "page": page,
            "limit": limit,
            "hasMore": page * limit < total,
            "totalCount": total,
        }
    )


@api_view(["PATCH", "DELETE"], scope="webhooks")
def webhook_item(request: HttpRequest, webhook_id: str) -> HttpResponse:
    hook = _own_webhook(request, webhook_id)
    if hook is None:
        return not_found("Webhook")
    if request.method == "DELETE":
        hook.delete()
        return HttpResponse(status=204)
    data = read_json(request)
    errors = _validate_webhook(request, data, patch=True)
    if errors:
        missing = [e["field"] for e in errors if e["message"].endswith("is required")]
        message = "Missing required fields: " + ", ".join(missing) if missing else None
        return validation_error(errors, message or "Validation error")
    form = _own_form(request, str(data["formId"]))
    if form is None:
        return not_found("Form")
    hook.form = form
    hook.url = data["url"]
    hook.event_types = data["eventTypes"]
    hook.is_enabled = data["isEnabled"]
    if "signingSecret" in data:
        hook.signing_secret = data["signingSecret"] or ""
    if "httpHeaders" in data:
        hook.http_headers = data["httpHeaders"] or []
    if "externalSubscriber" in data:
        hook.external_subscriber = data["externalSubscriber"] or ""
    hook.save()
    return json_response(services.webhook_json(hook))


@api_view(["GET"], scope="webhooks")
def webhook_events(request: HttpRequest, webhook_id: str) -> HttpResponse:
    hook = _own_webhook(request, webhook_id)
    if hook is None:
        return not_found("Webhook")
    page, _limit = paging(request)
    events = WebhookEvent.objects.filter(webhook=hook).order_by("-created_at", "-pk")
    total = events.count()
    rows = list(events[(page - 1) * EVENTS_PER_PAGE : page * EVENTS_PER_PAGE])
    return json_response(
        {
            "events": [services.event_json(e) for e in rows],
            "page": page,
            "hasMore": page * EVENTS_PER_PAGE < total,
            "totalNumberOfEvents": total,
        }
    )


@api_view(["POST"], scope="webhooks")
def webhook_event_redeliver(request: HttpRequest, webhook_id: str, event_id: str) -> HttpResponse:
    hook = _own_webhook(request, webhook_id)
    if hook is None:
        return not_found("Webhook")
    event = (
        WebhookEvent.objects.filter(webhook=hook)
        .filter(Q(public_id=event_id) | Q(event_id=event_id))
        .order_by("pk")
        .first()
    )
    if event is None:
        return not_found("Event")
    return json_response(services.event_json(services.event_redeliver(event)))


# --- Discovery --------------------------------------------------------------------------


def well_known(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return error(405, "Method not allowed", "METHOD_NOT_ALLOWED")
    base = request.build_absolute_uri("/").rstrip("/")
    return json_response(
        {
            "issuer": base + reverse("sandbox_tally:oauth_token").removesuffix("/oauth/token"),
            "authorization_endpoint": base + reverse("sandbox_tally:oauth_authorize"),
            "token_endpoint": base + reverse("sandbox_tally:oauth_token"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": services.ALL_SCOPES,
        }
    )
