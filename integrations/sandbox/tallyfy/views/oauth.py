"""The sandbox Tallyfy OAuth server, shaped like Laravel Passport (account.tallyfy.com).

The sandbox has one Tallyfy user (the seeded demo user) who is always signed in: the
consent page only asks to Approve or Deny. One registered client: TALLYFY_CLIENT_ID /
TALLYFY_CLIENT_SECRET, read from settings on every request.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .. import services
from ..models import User
from ..seed import DEMO_USER_ID

AUTHORIZE_PARAMS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)


def _client_name() -> str:
    """The registered client's name on the consent page."""
    return "Kickoff"


def _redirect(uri: str, **params: str) -> HttpResponseRedirect:
    """A redirect to `uri` with `params` added to its query."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return HttpResponseRedirect(urlunsplit(parts._replace(query=query)))


def _bad_request(request: HttpRequest, title: str, detail: str) -> HttpResponse:
    """A 400 page for a request that cannot be redirected back."""
    return render(
        request,
        "sandbox_tallyfy/oauth_error.html",
        {"title": title, "detail": detail},
        status=400,
    )


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """GET shows the consent page; POST (the Approve / Deny buttons) redirects back."""
    params = {
        k: (request.GET if request.method == "GET" else request.POST).get(k, "")
        for k in AUTHORIZE_PARAMS
    }
    if not params["client_id"] or params["client_id"] != str(settings.TALLYFY_CLIENT_ID):
        return _bad_request(
            request, "Unknown client", f"No OAuth client has the id {params['client_id']!r}."
        )
    redirect_uri = params["redirect_uri"]
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _bad_request(request, "Invalid redirect URI", "redirect_uri must be an http(s) URL.")
    state = params["state"] or None
    if params["response_type"] != "code":
        return _redirect(
            redirect_uri,
            error="unsupported_response_type",
            error_description="The authorization server does not support this response type.",
            state=state,
        )
    method = params["code_challenge_method"] or ("plain" if params["code_challenge"] else "")
    if params["code_challenge"] and method not in ("S256", "plain"):
        return _redirect(
            redirect_uri,
            error="invalid_request",
            error_description="Code challenge method must be `plain` or `S256`.",
            state=state,
        )
    user = User.objects.filter(id=DEMO_USER_ID).first()
    if user is None:
        return _bad_request(
            request, "Sandbox not seeded", "Run `manage.py sandbox_tallyfy_seed` first."
        )

    if request.method == "GET":
        return render(
            request,
            "sandbox_tallyfy/authorize.html",
            {
                "client_name": _client_name(),
                "params": params,
                "user": user,
                "scopes": params["scope"].split() if params["scope"] else [],
                "redirect_host": parts.netloc,
            },
        )
    if request.POST.get("decision") != "approve":
        return _redirect(
            redirect_uri,
            error="access_denied",
            error_description="The resource owner or authorization server denied the request.",
            state=state,
        )
    code = services.oauth_code_issue(
        user=user,
        client_id=params["client_id"],
        redirect_uri=redirect_uri,
        scope=params["scope"],
        challenge=params["code_challenge"],
        method=method,
    )
    return _redirect(redirect_uri, code=code, state=state)


def _oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    """An OAuth error body, never cached."""
    response = JsonResponse(
        {
            "error": error,
            "error_description": description,
            "message": description,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    """Client id and secret from HTTP Basic (Authlib's default) or the form body."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return unquote_plus(client_id), unquote_plus(secret)
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    """POST /oauth/token — form-encoded only, like Passport. A JSON body is refused."""
    if request.content_type != "application/x-www-form-urlencoded":
        if request.content_type == "application/json":
            return _oauth_error(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server. "
                "Token requests must be form-encoded (application/x-www-form-urlencoded).",
            )
        return _oauth_error(
            "invalid_request",
            "The request is missing a required parameter: send the token request "
            "form-encoded (application/x-www-form-urlencoded).",
        )
    client_id, secret = _client_credentials(request)
    if not (
        client_id == str(settings.TALLYFY_CLIENT_ID)
        and secrets.compare_digest(secret.encode(), str(settings.TALLYFY_CLIENT_SECRET).encode())
    ):
        return _oauth_error("invalid_client", "Client authentication failed", status=401)

    grant = request.POST.get("grant_type", "")
    try:
        if grant == "authorization_code":
            code = request.POST.get("code", "")
            if not code:
                return _oauth_error("invalid_request", "The code parameter is required.")
            access, refresh = services.oauth_exchange_code(
                client_id=client_id,
                code=code,
                redirect_uri=request.POST.get("redirect_uri", ""),
                verifier=request.POST.get("code_verifier", ""),
            )
        elif grant == "refresh_token":
            raw = request.POST.get("refresh_token", "")
            if not raw:
                return _oauth_error("invalid_request", "The refresh_token parameter is required.")
            access, refresh = services.oauth_refresh(client_id=client_id, refresh_token=raw)
        else:
            return _oauth_error(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
    except services.GrantError as exc:
        return _oauth_error(exc.error, exc.description, exc.status)
    response = JsonResponse(services.token_response(access, refresh))
    response["Cache-Control"] = "no-store"
    return response
