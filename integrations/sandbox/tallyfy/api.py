"""The sandbox Tallyfy REST API under /sandbox/tallyfy/api (docs/vendor-notes.md, Tallyfy half).

Every request passes the same gate, in this order: `X-Tallyfy-Client: APIClient` header
(401 without it), bearer token (401 when unknown, expired or revoked), the organization in
the path (404 unknown, 403 out of the token's reach), the per-organization rate limit
(429 + Retry-After), then any fault switch that applies.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import time
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import serializers as out
from . import services
from .models import Checklist, Organization, Run, Task

log = logging.getLogger(__name__)


def error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"message": message, **extra}, status=status)


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return ...


def _invalid(exc: services.Invalid) -> JsonResponse:
    return JsonResponse(exc.body(), status=422)


# --- Faults ------------------------------------------------------------------------------


def _fault_422(variant: str) -> JsonResponse:
    """The three 422 shapes Tallyfy is known to send; the first is the default."""
    message = "The given data was invalid. (sandbox fault switch)"
    errors = {"name": ["Rejected by a sandbox fault switch."]}
    if variant == "error_errors":
        return JsonResponse({"error": True, "errors": errors}, status=422)
    if variant == "error_message":
        return JsonResponse({"error": True, "message": message}, status=422)
    return JsonResponse({"message": message, "errors": errors}, status=422)


def find_socket(environ: dict) -> socket.socket | None:
    """The client's TCP socket behind a WSGI request, for the `drop` fault.

    gunicorn exposes it as `gunicorn.socket`. Django's runserver / live_server (wsgiref)
    wraps it: wsgi.input is Django's LimitedStream, whose `_read` is bound to a
    BufferedReader over a SocketIO, whose `_sock` is the socket.
    """
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        return sock
    obj: Any = environ.get("wsgi.input")
    for _ in range(6):
        if obj is None:
            return None
        if isinstance(obj, socket.socket):
            return obj
        inner = getattr(obj, "_sock", None)
        if isinstance(inner, socket.socket):
            return inner
        obj = (
            getattr(obj, "raw", None)
            or getattr(obj, "stream", None)
            or getattr(getattr(obj, "_read", None), "__self__", None)
        )
    return None


def drop_connection(request: HttpRequest) -> HttpResponse:
    """Cut the TCP connection without answering: the caller sees a network error."""
    sock = find_socket(request.environ)
    if sock is None:
        log.warning("sandbox tallyfy: cannot find the client socket to drop; answering 502")
        return error(502, "Sandbox could not drop this connection (no socket found).")
    with contextlib.suppress(OSError):  # already gone: fine, that is the point
        sock.shutdown(socket.SHUT_RDWR)
    # The server still writes this to the dead socket and gives up quietly (broken pipe).
    return HttpResponse(b"", status=200)


# --- The gate -------------------------------------------------------------------------------


def tallyfy_api(methods: list[str], *, launch: bool = False):
    """Wrap an API view with Tallyfy's header, token, org, rate-limit and fault handling."""

    def decorate(view):
        @csrf_exempt
        @require_http_methods(methods)
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.headers.get("X-Tallyfy-Client") != "APIClient":
                return JsonResponse(
                    {
                        "error": "Unauthenticated",
                        "message": "Unauthenticated. Send the header X-Tallyfy-Client: APIClient.",
                    },
                    status=401,
                )
            scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
            token = services.token_authenticate(raw.strip()) if scheme == "Bearer" else None
            if token is None:
                return error(401, "Unauthenticated.")
            request.tallyfy_token = token
            request.tallyfy_user = token.user

            org_id = kwargs.get("org")
            if org_id is not None:
                org = Organization.objects.filter(id=org_id).first()
                if org is None:
                    return error(404, "Organization not found.")
                if not services.token_can_reach(token, org):
                    return error(403, "This action is unauthorized.")
                kwargs["org"] = org
                wait = services.rate_limit_hit(org.id)
                if wait is not None:
                    response = error(429, "Too Many Attempts.")
                    response["Retry-After"] = str(wait)
                    return response

            fault = services.fault_take(is_launch=launch)
            if fault is not None:
                if fault.kind == "500":
                    return error(500, "Server Error")
                if fault.kind == "429":
                    response = error(429, "Too Many Attempts.")
                    response["Retry-After"] = str(fault.retry_after)
                    return response
                if fault.kind == "422":
                    return _fault_422(fault.variant)
                if fault.kind == "hang":
                    time.sleep(fault.hang_seconds)  # then answer normally
            response = view(request, *args, **kwargs)
            if fault is not None and fault.kind == "drop":
                # The work is done and committed (a launch created its run); now vanish.
                return drop_connection(request)
            return response

        return wrapper

    return decorate


# --- Endpoints -------------------------------------------------------------------------------


@tallyfy_api(["GET"])
def me(request):
    return JsonResponse({"data": out.user_json(request.tallyfy_user)})


@tallyfy_api(["GET"])
def me_organizations(request):
    orgs = services.token_organizations(request.tallyfy_token)
    return JsonResponse(out.paginated(orgs, request.GET, out.organization_json))


@tallyfy_api(["GET"])
def checklists(request, org: Organization):
    qs = Checklist.objects.filter(organization=org).order_by("title", "id")
    if q := request.GET.get("q", "").strip():
        qs = qs.filter(title__icontains=q)
    return JsonResponse(out.paginated(qs, request.GET, out.checklist_summary_json))


@tallyfy_api(["GET"])
def checklist(request, org: Organization, checklist_id: str):
    obj = Checklist.objects.filter(organization=org, id=checklist_id).first()
    if obj is None:
        return error(404, "Checklist not found.")
    return JsonResponse({"data": out.checklist_json(obj)})


def _runs_list(request, org: Organization):
    qs = Run.objects.filter(organization=org).select_related("checklist")
    if checklist_id := request.GET.get("checklist_id"):
        qs = qs.filter(checklist_id=checklist_id)
    if q := request.GET.get("q", "").strip():
        qs = qs.filter(Q(name__icontains=q) | Q(summary__icontains=q))
    if status := request.GET.get("status"):
        qs = qs.filter(status=status)
    sort = request.GET.get("sort", "-created_at")
    order = {"created_at": "created_at", "-created_at": "-created_at", "name": "name"}
    qs = qs.order_by(order.get(sort, "-created_at"), "id").prefetch_related("tasks")
    return JsonResponse(out.paginated(qs, request.GET, out.run_json))


def _run_launch(request, org: Organization):
    body = _json_body(request)
    if body is ...:
        return error(400, "The request body is not valid JSON.")
    try:
        run = services.run_launch(org=org, user=request.tallyfy_user, body=body)
    except services.Invalid as exc:
        return _invalid(exc)
    return JsonResponse({"data": out.run_json(run)}, status=201)


@tallyfy_api(["POST"], launch=True)
def runs_launch(request, org: Organization):
    return _run_launch(request, org)


@tallyfy_api(["GET"])
def runs_list(request, org: Organization):
    return _runs_list(request, org)


@csrf_exempt
def runs(request, org: str):
    """GET lists runs, POST launches one; only POST counts as a launch for fault scopes."""
    if request.method == "POST":
        return runs_launch(request, org=org)
    return runs_list(request, org=org)


@tallyfy_api(["GET"])
def run(request, org: Organization, run_id: str):
    obj = Run.objects.select_related("checklist").filter(organization=org, id=run_id).first()
    if obj is None:
        return error(404, "Run not found.")
    return JsonResponse({"data": out.run_json(obj)})


@tallyfy_api(["GET"])
def run_tasks(request, org: Organization, run_id: str):
    obj = Run.objects.filter(organization=org, id=run_id).first()
    if obj is None:
        return error(404, "Run not found.")
    with_fields = "form_fields" in request.GET.get("with", "").split(",")
    qs = obj.tasks.select_related("step").order_by("position", "id")
    return JsonResponse(
        out.paginated(qs, request.GET, lambda t: out.task_json(t, with_form_fields=with_fields))
    )


@tallyfy_api(["PUT"])
def run_task(request, org: Organization, run_id: str, task_id: str):
    task = (
        Task.objects.select_related("step", "run__organization")
        .filter(run__organization=org, run_id=run_id, id=task_id)
        .first()
    )
    if task is None:
        return error(404, "Task not found.")
    body = _json_body(request)
    if body is ...:
        return error(400, "The request body is not valid JSON.")
    try:
        task = services.task_update(task=task, body=body)
    except services.Invalid as exc:
        return _invalid(exc)
    return JsonResponse({"data": out.task_json(task, with_form_fields=True)})


@tallyfy_api(["POST"])
def run_completed_tasks(request, org: Organization, run_id: str):
    obj = Run.objects.filter(organization=org, id=run_id).first()
    if obj is None:
        return error(404, "Run not found.")
    body = _json_body(request)
    if body is ...:
        return error(400, "The request body is not valid JSON.")
    try:
        task = services.task_complete(run=obj, user=request.tallyfy_user, body=body)
    except services.Invalid as exc:
        return _invalid(exc)
    return JsonResponse({"data": out.task_json(task, with_form_fields=True)}, status=201)
