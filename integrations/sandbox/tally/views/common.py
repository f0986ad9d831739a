"""Request plumbing shared by the sandbox Tally's API views: auth, faults, rate limit,
JSON errors and paging."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import services


def json_response(data, status: int = 200) -> HttpResponse:
    """A JSON body, non-ASCII kept as is."""
    # `safe=False`: drop-off may answer a bare JSON `null`.
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def error(status: int, message: str, error_type: str, errors: list | None = None) -> HttpResponse:
    """Tally's error body as seen in the wild: {message, errorType, errors[]}."""
    return json_response(
        {"message": message, "errorType": error_type, "errors": errors or []}, status=status
    )


def validation_error(errors: list[dict], message: str = "Validation error") -> HttpResponse:
    """A 400 listing what is wrong per field."""
    return error(400, message, "VALIDATION", errors)


def not_found(what: str = "Resource") -> HttpResponse:
    """A 404 naming what was not found."""
    return error(404, f"{what} not found", "NOT_FOUND")


class BadRequest(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message

    def response(self) -> HttpResponse:
        """The 400 for this bad parameter."""
        return validation_error([{"field": self.field, "message": self.message}])


def read_json(request: HttpRequest) -> dict:
    """The request's JSON object, or BadRequest."""
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError:
        raise BadRequest("body", "Body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body", "Body must be a JSON object")
    return data


MAX_LIMIT = 500


def int_param(request: HttpRequest, name: str, default: int, minimum: int = 1) -> int:
    """An integer query parameter, or BadRequest."""
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(name, f"{name} must be an integer") from None
    if value < minimum:
        raise BadRequest(name, f"{name} must be >= {minimum}")
    return value


def paging(request: HttpRequest, default_limit: int = 50) -> tuple[int, int]:
    """`page` and `limit` (≤ 500) from the query."""
    page = int_param(request, "page", 1)
    limit = int_param(request, "limit", default_limit)
    if limit > MAX_LIMIT:
        raise BadRequest("limit", f"limit must be <= {MAX_LIMIT}")
    return page, limit


def _unauthorized_plain() -> HttpResponse:
    """Tally's plain-text 401."""
    return HttpResponse("Unauthorized", status=401, content_type="text/plain; charset=utf-8")


def _unauthorized_json() -> HttpResponse:
    """Tally's JSON 401."""
    return json_response({"message": "Unauthorized", "errorType": "UNAUTHORIZED"}, status=401)


def apply_fault() -> HttpResponse | None:
    """Consume one pending fault: answer 500 or 429 now, or sleep and carry on (hang)."""
    fault = services.fault_take()
    if fault is None:
        return None
    if fault.kind == "500":
        return error(500, "Internal server error", "INTERNAL_SERVER_ERROR")
    if fault.kind == "429":
        resp = error(429, "Too many requests", "RATE_LIMIT")
        resp["Retry-After"] = str(fault.retry_after)
        return resp
    time.sleep(fault.hang_seconds)  # "hang": then answer normally
    return None


def api_view(methods: list[str]) -> Callable:
    """Tally API endpoint: CSRF-exempt, method check, faults, bearer auth, 100/min limit.

    No scope is checked: Tally defines none, a token reaches all of its user's resources.

    A missing Authorization header gets the plain-text `Unauthorized` body and a bad or
    expired token the JSON one: Tally is seen answering both ways.
    The `tally-version` header is accepted and ignored (it only selects response shapes).
    """

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method not in methods:
                resp = error(405, "Method not allowed", "METHOD_NOT_ALLOWED")
                resp["Allow"] = ", ".join(methods)
                return resp
            faulted = apply_fault()
            if faulted is not None:
                return faulted
            header = request.headers.get("Authorization", "")
            if not header:
                return _unauthorized_plain()
            kind, _, token = header.partition(" ")
            caller = services.caller_for_token(token.strip()) if kind.lower() == "bearer" else None
            if caller is None:
                return _unauthorized_json()
            if services.rate_limit_hit(caller.token):
                # Docs: 100 requests/min per key, then 429 — and no rate headers.
                return error(429, "Too many requests", "RATE_LIMIT")
            request.tally = caller
            try:
                return view(request, *args, **kwargs)
            except BadRequest as exc:
                return exc.response()

        return wrapper

    return decorate
