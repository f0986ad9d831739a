"""OAuth 2.0 authorization code (+ PKCE S256) and refresh, as Tally's server does it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .. import services
from ..catalog import DEMO_API_KEY
from ..models import AccessToken, OAuthCode, TallyUser
from .common import json_response

CODE_SECONDS = 600
PARAMS = ["client_id", "response_type", "scope", "redirect_uri", "state"]
PKCE = ["code_challenge", "code_challenge_method"]


def _with_query(url: str, params: dict) -> str:
    """`url` with `params` appended to its query."""
    joiner = "&" if urlsplit(url).query else "?"
    return url + joiner + urlencode({k: v for k, v in params.items() if v is not None})


def _error_page(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 page for a request that cannot be redirected back."""
    return render(request, "sandbox_tally/oauth_error.html", {"message": message}, status=400)


def _check_request(params) -> str | None:
    """Why this authorization request cannot even be redirected back, or None."""
    if params.get("client_id") != settings.TALLY_CLIENT_ID:
        return f"Unknown client_id {params.get('client_id')!r}."
    if params.get("response_type") != "code":
        return "response_type must be 'code'."
    redirect_uri = params.get("redirect_uri", "")
    if urlsplit(redirect_uri).scheme not in ("http", "https") or not urlsplit(redirect_uri).netloc:
        return "redirect_uri must be an absolute http(s) URL."
    if params.get("code_challenge") and params.get("code_challenge_method", "S256") != "S256":
        return "Only code_challenge_method=S256 is supported."
    return None


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """Consent page for the one sandbox user (no login): Approve or Deny."""
    params = request.POST if request.method == "POST" else request.GET
    problem = _check_request(params)
    if problem:
        return _error_page(request, problem)
    users = list(TallyUser.objects.all())
    if not users:
        return _error_page(request, "The sandbox has no Tally user yet: run sandbox_tally_seed.")
    redirect_uri, state = params["redirect_uri"], params.get("state")
    if request.method == "GET":
        scopes = params.get("scope", "").split()
        demo = next((u for u in users if u.api_key == DEMO_API_KEY), users[0])
        return render(
            request,
            "sandbox_tally/consent.html",
            {
                "client_id": params["client_id"],
                "scopes": scopes,
                "users": users,
                "demo": demo,
                "hidden": {k: params[k] for k in PARAMS + PKCE if k in params},
            },
        )
    if params.get("decision") != "approve":
        return HttpResponseRedirect(
            _with_query(redirect_uri, {"error": "access_denied", "state": state})
        )
    user = next((u for u in users if u.id == params.get("user")), users[0])
    code = OAuthCode.objects.create(
        code=secrets.token_urlsafe(24),
        user=user,
        client_id=params["client_id"],
        redirect_uri=redirect_uri,
        scope=params.get("scope", ""),
        code_challenge=params.get("code_challenge", ""),
        code_challenge_method=params.get("code_challenge_method", "S256")
        if params.get("code_challenge")
        else "",
        expires_at=timezone.now() + timedelta(seconds=CODE_SECONDS),
    )
    return HttpResponseRedirect(_with_query(redirect_uri, {"code": code.code, "state": state}))


def _oauth_error(error: str, description: str, status: int = 400) -> HttpResponse:
    """An RFC 6749 error body."""
    return json_response({"error": error, "error_description": description}, status=status)


def _token_body(request: HttpRequest) -> dict:
    """The token request's fields, form-encoded or JSON."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return request.POST.dict()


def _client_credentials(request: HttpRequest, body: dict) -> tuple[str, str]:
    """Client id and secret from HTTP Basic or the body."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = raw.partition(":")
        return client_id, secret
    return body.get("client_id", ""), body.get("client_secret", "")


def _pkce_ok(code: OAuthCode, verifier: str) -> bool:
    """Whether the verifier matches the code's S256 challenge (or none was set)."""
    if not code.code_challenge:
        return True
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected, code.code_challenge)


def _token_json(token: AccessToken, *, with_refresh: bool) -> dict:
    """The token response body."""
    body = {
        "access_token": token.token,
        "token_type": "Bearer",
        "expires_in": services.ACCESS_TOKEN_SECONDS,
        "scope": token.scope,
    }
    if with_refresh:
        body["refresh_token"] = token.refresh_token
    return body


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """POST form-encoded or JSON; client auth in the body or HTTP Basic."""
    if request.method != "POST":
        return _oauth_error("invalid_request", "Use POST", status=405)
    body = _token_body(request)
    client_id, secret = _client_credentials(request, body)
    if client_id != settings.TALLY_CLIENT_ID or not hmac.compare_digest(
        secret.encode(), settings.TALLY_CLIENT_SECRET.encode()
    ):
        return _oauth_error("invalid_client", "Unknown client or wrong secret", status=401)
    grant = body.get("grant_type")
    if grant == "authorization_code":
        code = OAuthCode.objects.select_related("user").filter(code=body.get("code", "")).first()
        if code is None or code.client_id != client_id:
            return _oauth_error("invalid_grant", "Unknown authorization code")
        if code.expires_at <= timezone.now():
            return _oauth_error("invalid_grant", "Authorization code expired")
        if code.redirect_uri != body.get("redirect_uri", ""):
            return _oauth_error("invalid_grant", "redirect_uri does not match the authorization")
        if not _pkce_ok(code, body.get("code_verifier", "")):
            return _oauth_error("invalid_grant", "PKCE verification failed")
        # Single use: only the request that flips `used` gets tokens.
        if not OAuthCode.objects.filter(pk=code.pk, used=False).update(used=True):
            return _oauth_error("invalid_grant", "Authorization code already used")
        issued = services.tokens_issue(user=code.user, client_id=client_id, scope=code.scope)
        return json_response(_token_json(issued, with_refresh=True))
    if grant == "refresh_token":
        refresh = body.get("refresh_token", "")
        previous = (
            AccessToken.objects.select_related("user")
            .filter(refresh_token=refresh, client_id=client_id, revoked=False)
            .order_by("-pk")
            .first()
        )
        if not refresh or previous is None:
            return _oauth_error("invalid_grant", "Unknown or revoked refresh token")
        issued = services.tokens_issue(
            user=previous.user, client_id=client_id, scope=previous.scope, refresh_token=refresh
        )
        # Tally is seen to omit refresh_token here: the old one stays valid.
        return json_response(_token_json(issued, with_refresh=False))
    return _oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported")
