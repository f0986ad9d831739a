# ruff: noqa: F811
# (F811: pytest fixtures imported from the support module)
"""Sandbox Tallyfy OAuth: consent page, authorization code + PKCE, form-only token endpoint,
refresh token rotation."""

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client, override_settings

from tests.sandbox.test_tallyfy_support import ACME, BETA, api, headers, seeded  # noqa: F401

AUTHORIZE = "/sandbox/tallyfy/oauth/authorize"
TOKEN_URL = "/sandbox/tallyfy/oauth/token"
REDIRECT = "http://127.0.0.1:8000/connections/tallyfy/callback"


def authorize_params(**extra):
    return {
        "client_id": "1001",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "st-123",
        **extra,
    }


def approve(client, **extra) -> dict:
    """Press Approve on the consent page; the query the browser is sent back with."""
    response = client.post(AUTHORIZE, {**authorize_params(**extra), "decision": "approve"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def multipart_exchange(client, code, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "1001",
        "client_secret": "kickoff-sandbox-secret",
        **extra,
    }
    return client.post(TOKEN_URL, data)  # the Django test client sends dicts as multipart


def form_post(client, data, **kwargs):
    return client.post(
        TOKEN_URL, urlencode(data), content_type="application/x-www-form-urlencoded", **kwargs
    )


def token_pair(client, **extra) -> dict:
    code = approve(client, **extra)["code"]
    response = form_post(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "1001",
            "client_secret": "kickoff-sandbox-secret",
        },
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_it_shows_a_consent_page_naming_the_client(client, seeded):
    response = client.get(AUTHORIZE, authorize_params(scope="read write"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Kickoff" in html
    assert "Approve" in html
    assert "Deny" in html
    assert "csrfmiddlewaretoken" in html


def test_it_refuses_an_unknown_client_with_a_400_page(client, seeded):
    response = client.get(AUTHORIZE, authorize_params(client_id="999"))
    assert response.status_code == 400
    assert "Unknown client" in response.content.decode()


def test_it_reads_the_client_from_settings_at_request_time(client, seeded):
    with override_settings(TALLYFY_CLIENT_ID="2002"):
        assert client.get(AUTHORIZE, authorize_params(client_id="2002")).status_code == 200
        assert client.get(AUTHORIZE, authorize_params()).status_code == 400


def test_it_requires_the_csrf_token_on_the_consent_form(seeded):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(AUTHORIZE, {**authorize_params(), "decision": "approve"})
    assert response.status_code == 403


def test_it_redirects_back_with_a_code_and_the_state_on_approve(client, seeded):
    query = approve(client)
    assert query["state"] == "st-123"
    assert query["code"]


def test_it_redirects_back_with_access_denied_on_deny(client, seeded):
    response = client.post(AUTHORIZE, {**authorize_params(), "decision": "deny"})
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st-123"]
    assert "code" not in query


def test_it_exchanges_a_code_for_bearer_tokens_that_reach_both_orgs(client, api):
    tokens = token_pair(client)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["access_token"] and tokens["refresh_token"]
    for org in (ACME, BETA):
        response = api.get(f"/organizations/{org}/checklists", token=tokens["access_token"])
        assert response.status_code == 200


def test_it_accepts_client_credentials_in_http_basic(client, seeded):
    code = approve(client)["code"]
    basic = base64.b64encode(b"1001:kickoff-sandbox-secret").decode()
    response = form_post(
        client,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200


def test_it_uses_a_code_only_once(client, seeded):
    code = approve(client)["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "1001",
        "client_secret": "kickoff-sandbox-secret",
    }
    assert form_post(client, data).status_code == 200
    again = form_post(client, data)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_it_refuses_a_code_with_another_redirect_uri(client, seeded):
    code = approve(client)["code"]
    response = form_post(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT + "x",
            "client_id": "1001",
            "client_secret": "kickoff-sandbox-secret",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_it_refuses_a_wrong_client_secret(client, seeded):
    code = approve(client)["code"]
    response = form_post(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "1001",
            "client_secret": "wrong",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_it_refuses_a_json_token_request(client, seeded):
    code = approve(client)["code"]
    response = client.post(
        TOKEN_URL,
        json.dumps(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": "1001",
                "client_secret": "kickoff-sandbox-secret",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] in ("unsupported_grant_type", "invalid_request")
    assert response.json()["message"]


def test_it_refuses_a_multipart_token_request(client, seeded):
    code = approve(client)["code"]
    assert multipart_exchange(client, code).status_code == 400


def pkce_pair(verifier="v" * 50):
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("sent", "status"),
    [("right", 200), ("wrong", 400), (None, 400)],
)
def test_it_verifies_pkce_s256(client, seeded, sent, status):
    verifier, challenge = pkce_pair()
    code = approve(client, code_challenge=challenge, code_challenge_method="S256")["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "1001",
        "client_secret": "kickoff-sandbox-secret",
    }
    if sent:
        data["code_verifier"] = verifier if sent == "right" else "w" * 50
    assert form_post(client, data).status_code == status


def refresh(client, refresh_token):
    return form_post(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "1001",
            "client_secret": "kickoff-sandbox-secret",
        },
    )


def test_it_rotates_refresh_tokens_and_refuses_the_old_one(client, api):
    first = token_pair(client)
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert api.get("/me", token=second["access_token"]).status_code == 200
    assert api.get("/me", token=first["access_token"]).status_code == 401
    old = refresh(client, first["refresh_token"])
    assert old.status_code == 400
    assert old.json()["error"] == "invalid_grant"
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_it_refreshes_after_access_tokens_expire(client, api):
    tokens = token_pair(client)
    client.post("/sandbox/tallyfy/control/tokens/expire")
    assert api.get("/me", token=tokens["access_token"]).status_code == 401
    new = refresh(client, tokens["refresh_token"]).json()
    assert api.get("/me", token=new["access_token"]).status_code == 200


def test_it_refuses_refresh_after_revocation(client, seeded):
    tokens = token_pair(client)
    client.post("/sandbox/tallyfy/control/tokens/revoke")
    assert refresh(client, tokens["refresh_token"]).status_code == 400


def test_it_refuses_an_unknown_grant_type(client, seeded):
    response = form_post(
        client,
        {"grant_type": "password", "client_id": "1001", "client_secret": "kickoff-sandbox-secret"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
