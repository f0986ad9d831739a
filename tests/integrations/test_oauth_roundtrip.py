"""Full OAuth round trips against the sandbox vendors over real HTTP: Kickoff's own
Authlib client talks to the sandbox's consent page and token endpoint on a live server."""

import logging
import re
from html import unescape
from urllib.parse import urlsplit

import httpx
import pytest
from django.urls import reverse

from integrations.connections import connection_call, connection_test
from integrations.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)


def consent(authorize_url: str, decision: str) -> str:
    """Act as the person on the vendor's consent page; return where it redirects to."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text[:500]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields = {k: unescape(v) for k, v in fields.items()}
        answer = browser.post(authorize_url, data={**fields, "decision": decision})
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["location"]


def connect(client, provider: str, decision: str = "approve", **start_data):
    started = client.post(reverse("dashboard:oauth_start", args=[provider]), start_data)
    back = urlsplit(consent(started["Location"], decision))
    return client.get(f"{back.path}?{back.query}", follow=True)


@pytest.fixture
def tally_sandbox(live_kickoff):
    from integrations.sandbox.tally.seed import seed

    return seed()


def test_connect_tally_over_oauth_then_use_and_refresh_the_token(
    staff_client, tally_sandbox, live_kickoff, caplog
):
    caplog.set_level(logging.DEBUG)
    response = connect(staff_client, "tally")

    assert "Connected Tally: dana.demo@example.com" in response.content.decode()
    connection = Connection.objects.get()
    assert connection.auth_kind == "oauth" and connection.refresh_token
    assert connection_test(connection) == "Signed in to Tally as dana.demo@example.com."

    # The sandbox expires every access token: the next call refreshes by itself (once,
    # on the 401), and Tally's refresh answer omits refresh_token, so the old one stays.
    old_access, old_refresh = connection.access_token, connection.refresh_token
    httpx.post(f"{live_kickoff}/sandbox/tally/control/tokens/expire").raise_for_status()
    me = connection_call(connection, lambda c: c.get_me())
    assert me.email == "dana.demo@example.com"
    connection.refresh_from_db()
    assert connection.access_token != old_access
    assert connection.refresh_token == old_refresh
    assert connection.status == "active"
    # Nothing Kickoff logged, at any level, carries a token.
    for secret in (old_access, old_refresh, connection.access_token):
        assert secret not in caplog.text


def test_denying_consent_in_tally_saves_nothing(staff_client, tally_sandbox):
    response = connect(staff_client, "tally", decision="deny")
    assert "You declined access in Tally. Nothing was saved." in response.content.decode()
    assert not Connection.objects.exists()


def test_a_revoked_tally_grant_becomes_needs_reconnect_and_reconnect_restores_it(
    staff_client, tally_sandbox, live_kickoff
):
    connect(staff_client, "tally")
    connection = Connection.objects.get()
    httpx.post(f"{live_kickoff}/sandbox/tally/control/tokens/revoke").raise_for_status()

    page = staff_client.post(reverse("dashboard:connection_test", args=[connection.pk]))
    assert "Token refresh failed" in page.content.decode()
    connection.refresh_from_db()
    assert connection.status == "needs_reconnect"
    banner = staff_client.get(reverse("dashboard:connections")).content.decode()
    assert "needs reconnecting" in banner

    response = connect(staff_client, "tally", reconnect=connection.pk)
    assert "Reconnected Tally: dana.demo@example.com" in response.content.decode()
    connection.refresh_from_db()
    assert connection.status == "active"
    assert Connection.objects.count() == 1
    assert connection_test(connection).startswith("Signed in to Tally")


@pytest.fixture
def tallyfy_sandbox(live_kickoff):
    from integrations.sandbox.tallyfy import seed

    seed.seed()
    return seed


def test_connect_tallyfy_over_oauth_picking_one_of_two_organizations(
    staff_client, tallyfy_sandbox, live_kickoff
):
    response = connect(staff_client, "tallyfy")
    html = response.content.decode()
    assert "Choose a Tallyfy organization" in html
    assert "Acme Operations" in html and "Beta Studio" in html

    response = staff_client.post(
        reverse("dashboard:tallyfy_choose_org"), {"org_id": tallyfy_sandbox.ACME_ID}, follow=True
    )
    assert "Connected Tallyfy: Acme Operations" in response.content.decode()
    connection = Connection.objects.get()
    assert connection.external_id == tallyfy_sandbox.ACME_ID
    assert "27 templates" in connection_test(connection)

    # Tallyfy rotates refresh tokens: after a forced refresh the new one is stored and
    # the old one is dead at the vendor.
    old_refresh = connection.refresh_token
    httpx.post(f"{live_kickoff}/sandbox/tallyfy/control/tokens/expire").raise_for_status()
    connection_call(connection, lambda c: c.list_templates(per_page=1))
    connection.refresh_from_db()
    assert connection.refresh_token != old_refresh
    dead = httpx.post(
        f"{live_kickoff}/sandbox/tallyfy/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": old_refresh,
            "client_id": "1001",
            "client_secret": "kickoff-sandbox-secret",
        },
    )
    assert dead.status_code in (400, 401)


def test_a_tallyfy_personal_token_is_checked_against_the_sandbox(
    staff_client, tallyfy_sandbox, live_kickoff
):
    url = reverse("dashboard:tallyfy_token")
    bad = staff_client.post(url, {"token": "tallyfy-wrong-token", "org_id": "x"})
    assert "Tallyfy rejected the credentials (HTTP 401)" in bad.content.decode()
    good = staff_client.post(
        url, {"token": "tallyfy-sandbox-demo-token", "org_id": tallyfy_sandbox.ACME_ID}, follow=True
    )
    assert "Connected Tallyfy: Acme Operations" in good.content.decode()
    assert Connection.objects.get().auth_kind == "api_key"
