"""JSON control API for tests and benchmarks (sandbox only, no auth, CSRF-exempt)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .. import seed, services, shapes, switches
from ..models import Form
from .common import BadRequest, json_response, not_found, read_json, validation_error

FAULT_KINDS = ("500", "429", "hang")


def _fault_json() -> dict:
    """The pending fault as JSON."""
    fault = services.faults_current()
    if fault is None:
        return {"kind": None, "remaining": 0}
    return {
        "kind": fault.kind,
        "remaining": fault.remaining,
        "retry_after": fault.retry_after,
        "hang_seconds": fault.hang_seconds,
    }


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def faults(request: HttpRequest) -> HttpResponse:
    """POST {"kind": "500"|"429"|"hang", "count": N, "retry_after": s, "hang_seconds": s}."""
    if request.method == "DELETE":
        services.faults_clear()
    elif request.method == "POST":
        try:
            data = read_json(request)
            kind = str(data.get("kind", ""))
            count = int(data.get("count", 1))
            retry_after = int(data.get("retry_after", 1))
            hang_seconds = float(data.get("hang_seconds", 15))
        except BadRequest as exc:
            return exc.response()
        except (TypeError, ValueError):
            return validation_error(
                [
                    {
                        "field": "body",
                        "message": "count, retry_after and hang_seconds must be numbers",
                    }
                ]
            )
        if kind not in FAULT_KINDS or count < 0:
            return validation_error(
                [{"field": "kind", "message": "kind must be 500, 429 or hang; count >= 0"}]
            )
        services.faults_set(
            kind=kind, count=count, retry_after=retry_after, hang_seconds=hang_seconds
        )
    return json_response(_fault_json())


@csrf_exempt
@require_POST
def tokens_expire(request: HttpRequest) -> HttpResponse:
    """Expire every OAuth access token."""
    return json_response({"expired": services.tokens_expire_all()})


@csrf_exempt
@require_POST
def tokens_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke every OAuth token."""
    return json_response({"revoked": services.tokens_revoke_all()})


@csrf_exempt
@require_POST
def submission_create(request: HttpRequest, form_id: str) -> HttpResponse:
    """{"answers": {<field key | question id | label>: value}, "deliver": true,
    "completed": true, "submittedAt": ISO?} → the submission id and its deliveries."""
    form = Form.objects.filter(id=form_id).first()
    if form is None:
        return not_found("Form")
    try:
        data = read_json(request)
    except BadRequest as exc:
        return exc.response()
    given = data.get("answers") or {}
    if not isinstance(given, dict):
        return validation_error([{"field": "answers", "message": "answers must be an object"}])
    try:
        answers = shapes.parse_answers(form, given)
    except shapes.AnswerError as exc:
        return validation_error([{"field": "answers", "message": str(exc)}])
    submitted_at = parse_datetime(str(data["submittedAt"])) if data.get("submittedAt") else None
    sub = services.submission_create(
        form=form,
        answers=answers,
        completed=bool(data.get("completed", True)),
        submitted_at=submitted_at,
    )
    events = services.deliver_submission(sub) if data.get("deliver", True) else []
    return json_response(
        {
            "submissionId": sub.public_id,
            "respondentId": sub.respondent_id,
            "formId": form.id,
            "eventIds": [e.event_id for e in events],
            "deliveries": [shapes.delivery_summary(e) for e in events],
        },
        status=201,
    )


@csrf_exempt
@require_POST
def submissions_bulk(request: HttpRequest, form_id: str) -> HttpResponse:
    """{"count": N, "days": 60}: add N generated submissions, no webhook delivery."""
    form = Form.objects.filter(id=form_id).first()
    if form is None:
        return not_found("Form")
    try:
        data = read_json(request)
        count, days = int(data.get("count", 100)), int(data.get("days", 60))
    except BadRequest as exc:
        return exc.response()
    except (TypeError, ValueError):
        return validation_error([{"field": "count", "message": "count must be an integer"}])
    if not 0 < count <= 100_000 or days < 1:
        return validation_error([{"field": "count", "message": "1 <= count <= 100000"}])
    created = seed.submissions_bulk_create(form, count, days=days, seed=services.new_id())
    return json_response({"created": created, "total": form.submissions.count()}, status=201)


@csrf_exempt
@require_POST
def deliver_due(request: HttpRequest) -> HttpResponse:
    """Run every due webhook retry now."""
    done = services.deliver_due()
    return json_response({"attempted": [shapes.delivery_summary(e) for e in done]})


@csrf_exempt
@require_POST
def reset(request: HttpRequest) -> HttpResponse:
    """Reset the sandbox Tally to its seeded state."""
    seeded = seed.reset()
    return json_response(
        {"users": [u.id for u in seeded.users], "forms": [f.id for f in seeded.forms]}
    )


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def switches_view(request: HttpRequest) -> HttpResponse:
    """GET lists the variant switches; POST {"<name>": "<value>", …} flips some; DELETE
    puts every switch back to its setting."""
    if request.method == "DELETE":
        switches.clear()
    elif request.method == "POST":
        try:
            data = read_json(request)
        except BadRequest as exc:
            return exc.response()
        problems = [p for name, value in data.items() if (p := switches.flip(name, str(value)))]
        if problems:
            return validation_error([{"field": "switches", "message": p} for p in problems])
    return json_response({"switches": switches.state()})


@csrf_exempt
@require_http_methods(["POST", "DELETE"])
def webhook_action(request: HttpRequest, webhook_id: str) -> HttpResponse:
    """What a user does in Tally's Integrations tab: POST {"isEnabled": bool} switches the
    webhook on or off, DELETE removes it. Kickoff is not told."""
    if request.method == "DELETE":
        return HttpResponse(status=204) if services.webhook_delete(webhook_id) else not_found()
    try:
        enabled = read_json(request).get("isEnabled")
    except BadRequest as exc:
        return exc.response()
    if not isinstance(enabled, bool):
        return validation_error([{"field": "isEnabled", "message": "isEnabled must be a boolean"}])
    if not services.webhook_set_enabled(webhook_id, enabled):
        return not_found("Webhook")
    return json_response({"id": webhook_id, "isEnabled": enabled})


@csrf_exempt
@require_http_methods(["DELETE"])
def submission_delete(request: HttpRequest, form_id: str, submission_id: str) -> HttpResponse:
    """Delete a submission as a Tally user can (its id then fails as an afterId cursor)."""
    if not services.submission_delete(form_id, submission_id):
        return not_found("Submission")
    return HttpResponse(status=204)
