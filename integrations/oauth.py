"""OAuth 2 authorization-code flow with PKCE, on Authlib. Vendor specifics live in
integrations/<vendor>/oauth.py as an `OAuthProvider`; this module knows the protocol only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from django.conf import settings

with warnings.catch_warnings():
    # Authlib prefers the `httpx2` package and warns when it falls back to httpx, which is
    # the HTTP client this project standardises on. (Importing authlib.deprecate first
    # matters: it installs an "always" filter for its warning when first imported.)
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

# Token-endpoint errors after which retrying with the same grant cannot succeed: the
# user must go through consent again. https://www.rfc-editor.org/rfc/rfc6749#section-5.2
PERMANENT_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"}


@dataclass(frozen=True)
class OAuthProvider:
    name: str
    authorize_url: Callable[[], str]
    token_url: Callable[[], str]
    client_id: Callable[[], str]
    client_secret: Callable[[], str]
    scope: Callable[[], str] = lambda: ""
    pkce: bool = True


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_in: float | None
    scope: str

    def __repr__(self) -> str:  # never print tokens
        return f"TokenSet(expires_in={self.expires_in!r}, scope={self.scope!r})"


class OAuthFailed(Exception):
    """The token endpoint refused or could not be reached.

    `permanent` means the grant is dead (reconnect needed); otherwise it may work later.
    The message is safe to show and log: it never contains a token.
    """

    def __init__(self, message: str, *, permanent: bool, error: str = ""):
        super().__init__(message)
        self.permanent = permanent
        self.error = error


def _client(provider: OAuthProvider, redirect_uri: str | None = None) -> OAuth2Client:
    return OAuth2Client(
        client_id=provider.client_id(),
        client_secret=provider.client_secret(),
        # An empty scope sends no `scope` parameter at all.
        scope=provider.scope() or None,
        redirect_uri=redirect_uri,
        # Both vendors take client credentials in the form body of the token request.
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256" if provider.pkce else None,
        timeout=settings.HTTP_TIMEOUT_SECONDS,
    )


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    code_verifier: str


def authorization_request(provider: OAuthProvider, redirect_uri: str) -> AuthorizationRequest:
    """Where to send the user, with a fresh `state` and PKCE verifier to keep server-side."""
    verifier = generate_token(64) if provider.pkce else ""
    with _client(provider, redirect_uri) as client:
        url, state = client.create_authorization_url(
            provider.authorize_url(), code_verifier=verifier or None
        )
    return AuthorizationRequest(url=url, state=state, code_verifier=verifier)


def _token_set(token: dict) -> TokenSet:
    access = token.get("access_token")
    if not access:
        raise OAuthFailed("The token response carried no access token.", permanent=True)
    expires_in = token.get("expires_in")
    try:
        expires_in = float(expires_in) if expires_in not in (None, "") else None
    except (TypeError, ValueError):
        expires_in = None
    scope = token.get("scope") or ""
    if isinstance(scope, list):
        scope = " ".join(scope)
    return TokenSet(
        access_token=access,
        refresh_token=token.get("refresh_token") or None,
        expires_in=expires_in,
        scope=str(scope),
    )


def _call_token_endpoint(provider: OAuthProvider, call) -> TokenSet:
    try:
        return _token_set(call())
    except OAuthError as exc:
        error = exc.error or "error"
        detail = f": {exc.description}" if exc.description else ""
        raise OAuthFailed(
            f"{provider.name.title()} refused the token request ({error}{detail}).",
            permanent=error in PERMANENT_ERRORS,
            error=error,
        ) from None
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        raise OAuthFailed(
            f"{provider.name.title()}'s token endpoint answered HTTP {status}.",
            permanent=status in (400, 401, 403),
        ) from None
    except (httpx.TransportError, ValueError) as exc:
        raise OAuthFailed(
            f"{provider.name.title()}'s token endpoint could not be reached "
            f"({type(exc).__name__}).",
            permanent=False,
        ) from None


def exchange_code(
    provider: OAuthProvider, *, code: str, redirect_uri: str, code_verifier: str
) -> TokenSet:
    """Trade an authorization code for tokens."""
    with _client(provider, redirect_uri) as client:
        return _call_token_endpoint(
            provider,
            lambda: client.fetch_token(
                provider.token_url(),
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier or None,
            ),
        )


def refresh(provider: OAuthProvider, refresh_token: str) -> TokenSet:
    """Use a refresh token. A response without a new refresh token keeps the old one."""
    with _client(provider) as client:
        token_set = _call_token_endpoint(
            provider,
            lambda: client.refresh_token(provider.token_url(), refresh_token=refresh_token),
        )
    if token_set.refresh_token is None:
        token_set = TokenSet(
            access_token=token_set.access_token,
            refresh_token=refresh_token,
            expires_in=token_set.expires_in,
            scope=token_set.scope,
        )
    return token_set
