"""Shared HTTP plumbing for the vendor clients: named errors, error-body parsing, paging.

Failures are classified into `ApiError` subclasses that say whether a retry is worth it
(statuses and bodies here, transport errors in `integrations.jsonapi`). The delivery
pipeline relies on one distinction above all: `OutcomeUnknown` (the request may have
reached the vendor, so a POST may have taken effect) versus plain `Unavailable` (it surely
did not). Tallyfy has no idempotency key, so that difference decides between "launch
again" and "look the run up first".
"""

from __future__ import annotations

import email.utils
import html
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Key in `Invalid.field_errors` for messages that belong to no particular field.
NON_FIELD_ERRORS = "__all__"

#: How much of an error body an `ApiError` keeps (for delivery attempt records).
MAX_ERROR_BODY_CHARS = 2000
_MAX_MESSAGE_CHARS = 500

# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class ApiError(Exception):
    """A vendor call failed; `retryable` says whether trying again later may help."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        vendor: str = "",
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body  # truncated, tokens redacted
        self.vendor = vendor
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        prefix = " ".join(p for p in (self.vendor.capitalize(), str(self.status or "")) if p)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class Unauthorized(ApiError):
    """401: the token is expired or revoked. The caller refreshes once and retries once."""


class Forbidden(ApiError):
    """403: the token works but may not do this (missing scope, plan, permission)."""


class NotFound(ApiError):
    """404: no such object (or, at Tallyfy, a request missing `X-Tallyfy-Client`)."""


class RateLimited(ApiError):
    """429 from the vendor, or our own throttle refused to wait that long."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"RateLimited(status={self.status!r}, retry_after={self.retry_after!r}, "
            f"message={self.message!r})"
        )


class Invalid(ApiError):
    """400/422: the vendor rejected what we sent; `field_errors` says why, per field."""

    def __init__(self, field_errors: dict[str, list[str]], message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = field_errors

    def __repr__(self) -> str:
        return (
            f"Invalid(status={self.status!r}, message={self.message!r}, "
            f"field_errors={self.field_errors!r})"
        )


class Unavailable(ApiError):
    """5xx, or the request surely never reached the vendor (connect error/timeout)."""

    retryable = True


class OutcomeUnknown(Unavailable):
    """The request may have reached the vendor: a POST may have taken effect.

    Read timeouts, connections dropped after sending, protocol errors, gateway errors
    on writes, and 2xx answers we cannot parse. Look before re-sending a launch.
    """


def error_for_status(
    status: int,
    message: str,
    field_errors: dict[str, list[str]],
    *,
    retry_after: float | None = None,
    body: str = "",
    vendor: str = "",
    method: str = "GET",
) -> ApiError:
    """Map an HTTP error status to its named error."""
    kw: dict[str, Any] = {"status": status, "body": body, "vendor": vendor}
    if status == 401:
        return Unauthorized(message, **kw)
    if status == 403:
        return Forbidden(message, **kw)
    if status == 404:
        return NotFound(message, **kw)
    if status == 429:
        return RateLimited(message, retry_after=retry_after, **kw)
    if status in (400, 422):
        return Invalid(field_errors, message, **kw)
    if status == 408:
        return Unavailable(message, **kw)
    if status >= 500:
        # A 500 or a gateway error on a write may come after the vendor acted on it
        # (e.g. created the run, then failed to answer). 503 means it was turned away.
        if method.upper() not in ("GET", "HEAD", "OPTIONS") and status in (500, 502, 504):
            return OutcomeUnknown(message, **kw)
        return Unavailable(message, **kw)
    return ApiError(message, **kw)


# ---------------------------------------------------------------------------------------
# Error bodies and headers
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorBody:
    """What a vendor error body said, whatever its shape."""

    message: str
    field_errors: dict[str, list[str]]


_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1_RE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")
_WS_RE = re.compile(r"\s+")


def _clean(text: str, limit: int = _MAX_MESSAGE_CHARS) -> str:
    text = _WS_RE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_messages(value: Any) -> list[str]:
    """Coerce one field's error value (string, list, nested object) to a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [_clean(value)] if value.strip() else []
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(_as_messages(item))
        return out
    if isinstance(value, dict):
        for key in ("message", "msg", "detail", "error"):
            if isinstance(value.get(key), str):
                return _as_messages(value[key])
        return [_clean(json.dumps(value, default=str))]
    return [_clean(str(value))]


def _field_name(item: Mapping[str, Any]) -> str:
    for key in ("field", "path", "property", "key", "name", "param", "loc"):
        value = item.get(key)
        if isinstance(value, list) and value:
            return ".".join(str(v) for v in value)
        if isinstance(value, str | int) and str(value):
            return str(value)
    return NON_FIELD_ERRORS


def _collect_field_errors(errors: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for name, value in errors.items():
            messages = _as_messages(value)
            if messages:
                out.setdefault(str(name), []).extend(messages)
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                name = _field_name(item)
                messages = _as_messages(item)
            else:
                name, messages = NON_FIELD_ERRORS, _as_messages(item)
            if messages:
                out.setdefault(name, []).extend(messages)
    elif isinstance(errors, str):
        out[NON_FIELD_ERRORS] = _as_messages(errors)
    return out


def _summarise(field_errors: dict[str, list[str]]) -> str:
    parts = []
    for name, messages in field_errors.items():
        text = "; ".join(messages)
        parts.append(text if name == NON_FIELD_ERRORS else f"{name}: {text}")
    return _clean("; ".join(parts))


def _from_json(data: Any) -> ErrorBody | None:
    if isinstance(data, str):
        return ErrorBody(_clean(data), {}) if data.strip() else None
    if isinstance(data, list):
        field_errors = _collect_field_errors(data)
        return ErrorBody(_summarise(field_errors), field_errors) if field_errors else None
    if not isinstance(data, dict):
        return None
    field_errors = _collect_field_errors(data.get("errors"))
    message = ""
    for key in ("message", "error_description", "detail", "title", "error"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            message = _clean(value)
            break
        if key == "error" and isinstance(value, dict | list):
            nested = _from_json(value)
            if nested:
                message = message or nested.message
                for name, msgs in nested.field_errors.items():
                    field_errors.setdefault(name, []).extend(msgs)
    if not message:
        message = _summarise(field_errors)
    if not message and not field_errors:
        return None
    return ErrorBody(message, field_errors)


def _from_text(text: str) -> str:
    if "<" in text and ">" in text:
        for pattern in (_TITLE_RE, _H1_RE):
            match = pattern.search(text)
            if match:
                found = _clean(html.unescape(_TAG_RE.sub(" ", match.group(1))))
                if found:
                    return found
        return _clean(html.unescape(_TAG_RE.sub(" ", text)))
    return _clean(text)


def parse_error_body(content: bytes, status: int, reason: str = "") -> ErrorBody:
    """Read whatever a vendor put in an error body; never raises."""
    fallback = _clean(f"HTTP {status} {reason}".strip())
    try:
        text = content.decode("utf-8", errors="replace")
    except Exception:  # pragma: no cover - bytes.decode with "replace" does not raise
        return ErrorBody(fallback, {})
    if not text.strip():
        return ErrorBody(fallback, {})
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    else:
        try:
            parsed = _from_json(data)
        except RecursionError:
            parsed = None
        if parsed is not None:
            return ErrorBody(parsed.message or fallback, parsed.field_errors)
        if isinstance(data, dict | list) or data is None:
            return ErrorBody(fallback, {})
    message = _from_text(text)
    return ErrorBody(message or fallback, {})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as delta-seconds or an HTTP date, in seconds from now; None if absent."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (e.g. the bearer token) in `text`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def malformed(vendor: str, what: str, status: int | None = None) -> OutcomeUnknown:
    """A 2xx whose body lacks what we need: the call may have worked, we cannot tell."""
    return OutcomeUnknown(f"unexpected answer shape: {what}", status=status, vendor=vendor)


# ---------------------------------------------------------------------------------------
# Shared parsing helpers
# ---------------------------------------------------------------------------------------


@dataclass
class Page(Generic[T]):
    """One page of a vendor list; `raw` keeps the whole body for anything not parsed."""

    items: list[T]
    has_more: bool
    page: int
    total: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def iter_pages(fetch: Callable[[int], Page[T]], first: int = 1) -> Iterator[T]:
    """Yield every item, page after page, until a page says there is no more (or is empty)."""
    page = first
    while True:
        result = fetch(page)
        yield from result.items
        if not result.has_more or not result.items:
            return
        page += 1
