"""One vendor's authenticated JSON API: a pooled client, the throttle, every failure named.

Transport errors are split here into `Unavailable` (surely not sent) and `OutcomeUnknown`
(perhaps acted on); status codes and bodies go through `integrations.http`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from .http import (
    MAX_ERROR_BODY_CHARS,
    ApiError,
    OutcomeUnknown,
    Unavailable,
    error_for_status,
    parse_error_body,
    parse_retry_after,
    redact,
)
from .ratelimit import Throttle, get_throttle

_shared_http: tuple[int, httpx.Client] | None = None
_shared_http_lock = threading.Lock()


def shared_http_client() -> httpx.Client:
    """One pooled httpx client per process (re-made after a fork, e.g. in Celery workers)."""
    global _shared_http
    with _shared_http_lock:
        if _shared_http is None or _shared_http[0] != os.getpid():
            _shared_http = (os.getpid(), httpx.Client(follow_redirects=False))
        return _shared_http[1]


def _transport_error(exc: httpx.TransportError, vendor: str, method: str, path: str) -> ApiError:
    where = f"{method} {path}"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Unavailable(f"could not connect ({type(exc).__name__}) on {where}", vendor=vendor)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.ProxyError):
        return Unavailable(f"request not sent ({type(exc).__name__}) on {where}", vendor=vendor)
    # ReadTimeout, WriteTimeout, ReadError, WriteError, RemoteProtocolError, …: the
    # request may have been received and acted on.
    return OutcomeUnknown(f"no complete answer ({type(exc).__name__}) on {where}", vendor=vendor)


@dataclass(repr=False)
class JsonApi:
    """Sends authenticated JSON requests to one vendor and classifies every failure."""

    vendor: str
    base_url: str
    token: str
    headers: dict[str, str]
    rate: str
    account: str
    http: httpx.Client | None = None
    throttle: Throttle | None = None
    timeout: float = field(default_factory=lambda: float(settings.HTTP_TIMEOUT_SECONDS))

    def __repr__(self) -> str:
        return f"<JsonApi {self.vendor} {self.base_url} account={self.account!r}>"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send one request; return the decoded JSON body (None when empty) or raise ApiError."""
        (self.throttle or get_throttle()).acquire(self.vendor, self.account, self.rate)
        http = self.http or shared_http_client()
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {**self.headers, "Authorization": f"Bearer {self.token}"}
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = http.request(
                method,
                self.base_url.rstrip("/") + path,
                params=clean_params,
                json=json_body,
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.vendor, method, path) from None
        return self._handle(response, method, path)

    def _handle(self, response: httpx.Response, method: str, path: str) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if not response.content.strip():
                return None
            try:
                return response.json()
            except ValueError:
                raise OutcomeUnknown(
                    f"unreadable {status} answer to {method} {path}",
                    status=status,
                    body=self._body_text(response),
                    vendor=self.vendor,
                ) from None
        parsed = parse_error_body(response.content, status, response.reason_phrase)
        raise error_for_status(
            status,
            redact(parsed.message, [self.token]),
            {
                name: [redact(m, [self.token]) for m in msgs]
                for name, msgs in parsed.field_errors.items()
            },
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            body=self._body_text(response),
            vendor=self.vendor,
            method=method,
        )

    def _body_text(self, response: httpx.Response) -> str:
        text = response.content[:MAX_ERROR_BODY_CHARS].decode("utf-8", errors="replace")
        return redact(text, [self.token])
