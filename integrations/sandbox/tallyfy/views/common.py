"""Request plumbing shared by the sandbox Tallyfy's API views: the gate every call passes
(header, token, organization, rate limit, faults), JSON errors and the dropped connection.

The gate's order: `X-Tallyfy-Client: APIClient` header (401 without it), bearer token (401
when unknown, expired or revoked), the organization in the path (404 unknown, 403 out of
the token's reach), the per-organization rate limit (429 + Retry-After), then any fault
switch that applies.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import time
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .. import services
from ..models import Organization

log = logging.getLogger(__name__)


def error(status: int, message: str, **extra: Any) -> JsonResponse:
    """A JSON error with Tallyfy's `message`."""
    return JsonResponse({"message": message, **extra}, status=status)


def json_body(request: HttpRequest) -> Any:
    """The parsed JSON body, or `...` when it is not JSON."""
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return ...


def invalid(exc: services.Invalid) -> JsonResponse:
    """A 422 for a validation error."""
    return JsonResponse(exc.body(), status=422)


def endpoint_not_found() -> JsonResponse:
    """What Tallyfy answers for a call it does not have (the task_values switch)."""
    return error(404, "endpoint not found")


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


def tallyfy_api(methods: list[str], *, scope: str | None = None):
    """Wrap an API view with Tallyfy's header, token, org, rate-limit and fault handling.

    `scope` names the fault scope the call belongs to ("launch", "tasks"), besides "all".
    """

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

            fault = services.fault_take(scope=scope)
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
                # The work is done and committed (a launch created its run, a capture is
                # saved, a task completed); now vanish.
                return drop_connection(request)
            return response

        return wrapper

    return decorate
