"""The sandbox Tally's OAuth 2.0 server: consent, code exchange, PKCE, refresh, expiry."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.sandbox.tally.catalog import SUPPORT_FORM_ID
from integrations.sandbox.tally.models import OAuthCode

from . import test_tally_support as support
from .test_tally_support import API, control

# Shared fixtures (this package has no conftest of its own).
tally = support.tally

AUTHORIZE = "/sandbox/tally/oauth/authorize"
TOKEN = API + "/oauth/token"
REDIRECT = "http://127.0.0.1:8000/connections/tally/callback"
VERIFIER = "a-very-long-pkce-verifier-string-with-enough-entropy-1234567890"


def challenge(verifier: str = VERIFIER) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def params(settings, **extra) -> dict:
    """The authorize query; `scope=None` leaves `scope` out."""
    query = {
        "client_id": settings.TALLY_CLIENT_ID,
        "response_type": "code",
        "scope": "user forms responses webhooks",
        "redirect_uri": REDIRECT,
        "state": "st-123",
        **extra,
    }
    return {k: v for k, v in query.items() if v is not None}


def approve(client, settings, decision: str = "approve", **extra) -> dict:
    """Open the consent page, press a button, return the redirect's query."""
    page = client.get(AUTHORIZE, params(settings, **extra))
    assert page.status_code == 200
    resp = client.post(AUTHORIZE, {**params(settings, **extra), "decision": decision})
    assert resp.status_code == 302
    location = resp["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(client, settings, code: str, **extra):
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": settings.TALLY_CLIENT_ID,
        "client_secret": settings.TALLY_CLIENT_SECRET,
        **extra,
    }
    return client.post(TOKEN, body)


def test_it_shows_a_consent_page_naming_the_client_and_scopes(client, settings, tally):
    resp = client.get(AUTHORIZE, params(settings))
    html = resp.content.decode()
    assert settings.TALLY_CLIENT_ID in html
    for scope in ("user", "forms", "responses", "webhooks"):
        assert f"<strong>{scope}</strong>" in html
    assert ">Approve</button>" in html and ">Deny</button>" in html
    assert "csrfmiddlewaretoken" in html


def test_it_redirects_with_a_code_and_the_state_on_approve(client, settings, tally):
    query = approve(client, settings)
    assert query["state"] == "st-123"
    assert OAuthCode.objects.filter(code=query["code"], used=False).exists()


def test_it_redirects_with_access_denied_on_deny(client, settings, tally):
    query = approve(client, settings, decision="deny")
    assert query == {"error": "access_denied", "state": "st-123"}


@pytest.mark.parametrize("bad", [{"client_id": "someone-else"}, {"response_type": "token"}])
def test_it_shows_an_error_page_instead_of_redirecting_a_bad_request(client, settings, tally, bad):
    resp = client.get(AUTHORIZE, params(settings, **bad))
    assert resp.status_code == 400
    assert "Location" not in resp


def test_it_exchanges_a_code_for_tokens_that_work_on_the_api(client, settings, tally):
    code = approve(client, settings)["code"]
    resp = exchange(client, settings, code)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    me = client.get(API + "/users/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200 and me.json()["fullName"] == "Dana Demo"


def test_it_accepts_a_json_body_and_http_basic_client_auth(client, settings, tally):
    code = approve(client, settings)["code"]
    basic = base64.b64encode(
        f"{settings.TALLY_CLIENT_ID}:{settings.TALLY_CLIENT_SECRET}".encode()
    ).decode()
    resp = client.post(
        TOKEN,
        json.dumps({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert resp.status_code == 200, resp.content


def test_it_uses_a_code_only_once(client, settings, tally):
    code = approve(client, settings)["code"]
    assert exchange(client, settings, code).status_code == 200
    again = exchange(client, settings, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_it_requires_the_same_redirect_uri(client, settings, tally):
    code = approve(client, settings)["code"]
    resp = exchange(client, settings, code, redirect_uri="http://evil.test/cb")
    assert resp.json()["error"] == "invalid_grant"


def test_it_rejects_a_wrong_client_secret(client, settings, tally):
    code = approve(client, settings)["code"]
    resp = exchange(client, settings, code, client_secret="nope")
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"


def test_it_verifies_pkce_s256(client, settings, tally):
    pkce = {"code_challenge": challenge(), "code_challenge_method": "S256"}
    code = approve(client, settings, **pkce)["code"]
    assert (
        exchange(client, settings, code, code_verifier="wrong").json()["error"] == "invalid_grant"
    )
    code = approve(client, settings, **pkce)["code"]
    assert exchange(client, settings, code).json()["error"] == "invalid_grant"  # no verifier
    code = approve(client, settings, **pkce)["code"]
    assert exchange(client, settings, code, code_verifier=VERIFIER).status_code == 200


def test_it_refuses_plain_pkce(client, settings, tally):
    resp = client.get(
        AUTHORIZE, params(settings, code_challenge="abc", code_challenge_method="plain")
    )
    assert resp.status_code == 400


def test_it_refreshes_without_returning_a_new_refresh_token(client, settings, tally):
    tokens = exchange(client, settings, approve(client, settings)["code"]).json()
    body = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": settings.TALLY_CLIENT_ID,
        "client_secret": settings.TALLY_CLIENT_SECRET,
    }
    first = client.post(TOKEN, body)
    assert first.status_code == 200
    assert "refresh_token" not in first.json()
    assert first.json()["access_token"] != tokens["access_token"]
    second = client.post(TOKEN, body)  # the old refresh token stays valid
    assert second.status_code == 200


def test_it_answers_401_for_an_expired_access_token_until_refreshed(client, settings, tally):
    tokens = exchange(client, settings, approve(client, settings)["code"]).json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert client.get(API + "/forms", **bearer).status_code == 200
    assert control(client, "/tokens/expire").json()["expired"] == 1
    expired = client.get(API + "/forms", **bearer)
    assert expired.status_code == 401
    assert expired.json()["errorType"] == "UNAUTHORIZED"
    refreshed = client.post(
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": settings.TALLY_CLIENT_ID,
            "client_secret": settings.TALLY_CLIENT_SECRET,
        },
    ).json()
    fresh = {"HTTP_AUTHORIZATION": f"Bearer {refreshed['access_token']}"}
    assert client.get(API + "/forms", **fresh).status_code == 200


def test_it_refuses_a_revoked_refresh_token(client, settings, tally):
    tokens = exchange(client, settings, approve(client, settings)["code"]).json()
    control(client, "/tokens/revoke")
    resp = client.post(
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": settings.TALLY_CLIENT_ID,
            "client_secret": settings.TALLY_CLIENT_SECRET,
        },
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_it_refuses_an_unknown_grant_type(client, settings, tally):
    resp = client.post(
        TOKEN,
        {
            "grant_type": "password",
            "client_id": settings.TALLY_CLIENT_ID,
            "client_secret": settings.TALLY_CLIENT_SECRET,
        },
    )
    assert resp.json()["error"] == "unsupported_grant_type"


def test_it_grants_a_token_without_any_scope_that_reaches_every_resource(client, settings, tally):
    # Docs: "Tally does not define scopes" — a token reaches all of the user's resources.
    page = client.get(AUTHORIZE, params(settings, scope=None))
    assert "all your forms, responses and webhooks" in page.content.decode()
    code = approve(client, settings, scope=None)["code"]
    token = exchange(client, settings, code).json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for path in ("/users/me", "/forms", "/webhooks", f"/forms/{SUPPORT_FORM_ID}/submissions"):
        assert client.get(API + path, **bearer).status_code == 200, path
    hook = {"formId": SUPPORT_FORM_ID, "url": REDIRECT, "eventTypes": ["FORM_RESPONSE"]}
    created = client.post(API + "/webhooks", hook, content_type="application/json", **bearer)
    assert created.status_code == 201


def test_it_accepts_scopes_when_sent_and_never_narrows_the_token_to_them(client, settings, tally):
    code = approve(client, settings, scope="user forms")["code"]
    token = exchange(client, settings, code).json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(API + "/forms", **bearer).status_code == 200
    assert client.get(API + "/webhooks", **bearer).status_code == 200


def test_it_publishes_no_scopes_in_its_metadata(client, tally):
    meta = client.get(API + "/.well-known/oauth-authorization-server").json()
    assert meta["scopes_supported"] == []


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_whole_flow_over_real_http(live_server, settings):
    from integrations.sandbox.tally.seed import seed

    seed()
    base = live_server.url
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        meta = http.get("/sandbox/tally/api/.well-known/oauth-authorization-server").json()
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert meta["token_endpoint"] == base + TOKEN
        assert meta["authorization_endpoint"] == base + AUTHORIZE
        page = http.get(AUTHORIZE, params=params(settings, code_challenge=challenge()))
        csrf = page.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        form = {**params(settings, code_challenge=challenge(), code_challenge_method="S256")}
        form.update({"decision": "approve", "csrfmiddlewaretoken": csrf})
        approved = http.post(AUTHORIZE, data=form, headers={"Referer": base + AUTHORIZE})
        assert approved.status_code == 302
        code = parse_qs(urlsplit(approved.headers["location"]).query)["code"][0]
        tokens = http.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": VERIFIER,
            },
            auth=(settings.TALLY_CLIENT_ID, settings.TALLY_CLIENT_SECRET),
        ).json()
        me = http.get(
            "/sandbox/tally/api/users/me",
            headers={
                "Authorization": f"Bearer {tokens['access_token']}",
                "tally-version": "2025-02-01",
            },
        )
        assert me.status_code == 200
        assert me.json()["email"] == "dana.demo@example.com"
