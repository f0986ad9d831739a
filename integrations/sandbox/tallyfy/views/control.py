"""JSON control API for tests and demos: fault switches, token expiry/revocation, run dumps.

Sandbox only (the whole app is mounted only when SANDBOX is on), CSRF-exempt, no auth.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .. import services, switches
from .. import shapes as out
from ..models import Fault, Run
from ..seed import reset


def fault_json(fault: Fault) -> dict[str, Any]:
    """One fault as the control API shows it."""
    return {
        "id": fault.id,
        "kind": fault.kind,
        "remaining": fault.remaining,
        "scope": fault.scope,
        "retry_after": fault.retry_after,
        "hang_seconds": fault.hang_seconds,
        "variant": fault.variant,
    }


def _body(request: HttpRequest) -> dict[str, Any]:
    """The request's fields, JSON or form-encoded."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return request.POST.dict()


def fault_from(data: dict[str, Any]) -> Fault | str:
    """A new fault from a control request (JSON or form), or the problem with it."""
    kind = str(data.get("kind", ""))
    if kind not in Fault.KINDS:
        return f"kind must be one of {', '.join(Fault.KINDS)}"
    scope = str(data.get("scope") or "launch")
    if scope not in Fault.SCOPES:
        return f"scope must be one of {', '.join(Fault.SCOPES)}"
    variant = str(data.get("variant") or "message_errors")
    if variant not in Fault.VARIANTS:
        return f"variant must be one of {', '.join(Fault.VARIANTS)}"
    try:
        count = int(data.get("count") or 1)
        retry_after = int(data.get("retry_after") or 1)
        hang_seconds = float(data.get("hang_seconds") or 5)
    except (TypeError, ValueError):
        return "count, retry_after and hang_seconds must be numbers"
    if count < 1 or retry_after < 0 or not 0 <= hang_seconds <= 600:
        return "count ≥ 1, retry_after ≥ 0, 0 ≤ hang_seconds ≤ 600"
    return services.fault_add(
        kind=kind,
        count=count,
        scope=scope,
        retry_after=retry_after,
        hang_seconds=hang_seconds,
        variant=variant,
    )


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def faults(request: HttpRequest) -> JsonResponse:
    """POST adds a fault (queued after any others), GET lists the live ones, DELETE clears."""
    if request.method == "POST":
        fault = fault_from(_body(request))
        if isinstance(fault, str):
            return JsonResponse({"message": fault}, status=400)
        return JsonResponse({"data": fault_json(fault)}, status=201)
    if request.method == "DELETE":
        services.faults_clear()
    return JsonResponse({"data": [fault_json(f) for f in services.faults_active()]})


@csrf_exempt
@require_POST
def tokens_expire(request: HttpRequest) -> JsonResponse:
    """Every OAuth access token expires now (refresh tokens keep working).
    `{"personal": true}` expires personal access tokens too."""
    n = services.tokens_expire(personal=bool(_body(request).get("personal", False)))
    return JsonResponse({"expired": n})


@csrf_exempt
@require_POST
def tokens_revoke(request: HttpRequest) -> JsonResponse:
    """Every token dies, refresh tokens and personal tokens included.
    `{"personal": false}` spares personal access tokens."""
    personal = _body(request).get("personal", True)
    n = services.tokens_revoke(personal=personal not in (False, "false", "0"))
    return JsonResponse({"revoked": n})


@csrf_exempt
@require_http_methods(["GET"])
def runs(request: HttpRequest) -> JsonResponse:
    """Every run, newest first, with prerun and tasks, for assertions. `?org=` filters."""
    qs = Run.objects.select_related("checklist").prefetch_related("tasks__step")
    if org := request.GET.get("org"):
        qs = qs.filter(organization_id=org)
    data = [
        {
            **out.run_json(run),
            "organization_id": run.organization_id,
            "tasks": [out.task_json(t, with_form_fields=True) for t in run.tasks.all()],
        }
        for run in qs.order_by("-created_at", "id")
    ]
    return JsonResponse({"data": data})


@csrf_exempt
@require_POST
def reset_view(request: HttpRequest) -> JsonResponse:
    """Reset the sandbox Tallyfy (runs, faults, switches, OAuth grants)."""
    reset()
    return JsonResponse({"ok": True})


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def switches_view(request: HttpRequest) -> JsonResponse:
    """GET lists the variant switches; POST {"<name>": "<value>", …} flips some; DELETE
    puts every switch back to its setting."""
    if request.method == "DELETE":
        switches.clear()
    elif request.method == "POST":
        data = _body(request)
        problems = [p for name, value in data.items() if (p := switches.flip(name, str(value)))]
        if problems:
            return JsonResponse({"message": "; ".join(problems)}, status=400)
    return JsonResponse({"data": switches.state()})
