"""Response headers and sign-in throttling helpers named in settings.

Django 5.2 has no Content-Security-Policy support of its own, so a small middleware sets
it, together with `Cache-Control: no-store` on everything a signed-in person sees.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.cache import patch_cache_control


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy() -> str:
    """Scripts only from Kickoff's own static files (htmx and Chart.js are vendored).

    Styles allow 'unsafe-inline': a few templates size tables and charts with `style=`
    attributes; scripts, the real injection risk, stay strict. Forms may post to Kickoff
    only, plus the vendors' OAuth pages that "Connect" redirects to (Chrome applies
    form-action to the redirect after a form post)."""
    form_targets = sorted(
        {"'self'"}
        | {
            _origin(settings.TALLY_OAUTH_AUTHORIZE_URL),
            _origin(settings.TALLYFY_OAUTH_AUTHORIZE_URL),
        }
        - {_origin(settings.PUBLIC_BASE_URL)}
    )
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            f"form-action {' '.join(form_targets)}",
        ]
    )


class SecurityHeadersMiddleware:
    """CSP on every HTML answer; `no-store` on every answer to a signed-in person.

    Pages and exports carry submission answers and delivery data: a shared or back-button
    cache must not keep them after sign-out."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.policy)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response


def client_ip(request) -> str | None:
    """The address sign-in lockouts count against (django-axes' AXES_CLIENT_IP_CALLABLE).

    Behind the TLS proxy every request comes from the proxy, so its X-Forwarded-For is
    used: the last entry, the one the proxy itself appended (earlier ones are whatever the
    client claimed). Without a proxy, the socket's address."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets (AXES_LOCKOUT_CALLABLE): the app's login card,
    saying why and for how long, with 429 Too Many Requests."""
    from axes.helpers import get_client_username, get_cool_off, get_failure_limit
    from django.shortcuts import render

    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=429)
