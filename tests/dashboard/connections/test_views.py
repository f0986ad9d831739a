"""Connecting accounts from the Connections page (vendors mocked at the HTTP boundary)."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.urls import reverse

from integrations.models import AuditEvent, Connection
from tests.factories import ConnectionFactory, TallyfyConnectionFactory

ME = {"id": "usr_ada", "email": "ada@example.com", "fullName": "Ada L", "organizationId": "o1"}
TOKENS = {
    "access_token": "tally-access-1234567890",
    "refresh_token": "tally-refresh-0987654321",
    "expires_in": 3600,
    "token_type": "Bearer",
}


def start(client, provider, **data):
    response = client.post(reverse("dashboard:oauth_start", args=[provider]), data)
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query), response["Location"]


def callback(client, provider, **params):
    return client.get(reverse("dashboard:oauth_callback", args=[provider]), params, follow=True)


@pytest.fixture
def vendors(settings):
    with respx.mock(assert_all_called=False) as mock:
        mock.post(settings.TALLY_OAUTH_TOKEN_URL).respond(json=TOKENS)
        mock.get(f"{settings.TALLY_API_BASE_URL}/users/me").respond(json=ME)
        yield mock


@pytest.mark.django_db
def test_connect_tally_redirects_to_consent_with_state_and_pkce_but_no_scope(
    staff_client, settings
):
    query, location = start(staff_client, "tally")
    assert location.startswith(settings.TALLY_OAUTH_AUTHORIZE_URL + "?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [settings.TALLY_CLIENT_ID]
    # Tally's API reference: "Tally does not define scopes".
    assert "scope" not in query
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 20 and query["code_challenge"][0]
    assert query["redirect_uri"] == [f"{settings.PUBLIC_BASE_URL}/connections/tally/callback/"]


@pytest.mark.django_db
def test_connect_tally_asks_for_the_scopes_an_install_configures(staff_client, settings):
    settings.TALLY_OAUTH_SCOPES = "user forms responses webhooks"
    query, _ = start(staff_client, "tally")
    assert query["scope"] == ["user forms responses webhooks"]


@pytest.mark.django_db
def test_a_full_tally_connect_saves_one_encrypted_connection(staff_client, vendors, operator):
    query, _ = start(staff_client, "tally")
    response = callback(staff_client, "tally", code="abc", state=query["state"][0])

    assert b"Connected Tally: ada@example.com" in response.content
    connection = Connection.objects.get()
    assert (connection.provider, connection.external_id) == ("tally", "usr_ada")
    assert connection.auth_kind == "oauth" and connection.connected_by == operator
    assert connection.access_token == TOKENS["access_token"]
    assert TOKENS["access_token"].encode() not in response.content
    assert "…7890".encode() in response.content  # only a masked hint is shown
    sent = dict(httpx.QueryParams(vendors.calls[0].request.content.decode()))
    assert sent["code"] == "abc" and sent["grant_type"] == "authorization_code"
    assert len(sent["code_verifier"]) >= 43  # PKCE verifier from the session
    assert AuditEvent.objects.get().action == "connection.created"


@pytest.mark.django_db
def test_connecting_the_same_account_again_updates_it_instead_of_duplicating(staff_client, vendors):
    for _ in range(2):
        query, _ = start(staff_client, "tally")
        response = callback(staff_client, "tally", code="abc", state=query["state"][0])
    assert Connection.objects.count() == 1
    assert b"was already connected; its access was renewed" in response.content


@pytest.mark.django_db
def test_a_denied_consent_says_so_and_saves_nothing(staff_client, vendors):
    query, _ = start(staff_client, "tally")
    response = callback(staff_client, "tally", error="access_denied", state=query["state"][0])
    assert b"You declined access in Tally. Nothing was saved." in response.content
    assert not Connection.objects.exists()
    assert not vendors.calls


@pytest.mark.django_db
def test_a_forged_state_is_refused(staff_client, vendors):
    start(staff_client, "tally")
    response = callback(staff_client, "tally", code="abc", state="forged-state")
    assert response.status_code == 403
    assert b"state mismatch" in response.content
    assert not Connection.objects.exists() and not vendors.calls


@pytest.mark.django_db
def test_a_replayed_callback_is_refused(staff_client, vendors):
    query, _ = start(staff_client, "tally")
    callback(staff_client, "tally", code="abc", state=query["state"][0])
    replay = callback(staff_client, "tally", code="abc", state=query["state"][0])
    assert replay.status_code == 403
    assert Connection.objects.count() == 1


@pytest.mark.django_db
def test_a_token_endpoint_error_is_shown_and_nothing_is_saved(staff_client, settings):
    with respx.mock:
        respx.post(settings.TALLY_OAUTH_TOKEN_URL).respond(
            400, json={"error": "invalid_grant", "error_description": "code expired"}
        )
        query, _ = start(staff_client, "tally")
        response = callback(staff_client, "tally", code="old", state=query["state"][0])
    assert b"Tally refused the token request (invalid_grant: code expired)" in response.content
    assert b"Nothing was saved" in response.content
    assert not Connection.objects.exists()


@pytest.mark.django_db
def test_tallyfy_with_several_organizations_lets_the_user_pick_one(staff_client, settings):
    api = settings.TALLYFY_API_BASE_URL
    with respx.mock:
        respx.post(settings.TALLYFY_OAUTH_TOKEN_URL).respond(
            json={"access_token": "tf-access-123456789", "refresh_token": "tf-r", "expires_in": 60}
        )
        respx.get(f"{api}/me/organizations").respond(
            json={"data": [{"id": "acme", "name": "Acme"}, {"id": "beta", "name": "Beta"}]}
        )
        respx.get(f"{api}/me").respond(json={"data": {"id": 7, "email": "t@example.com"}})
        query, _ = start(staff_client, "tallyfy")
        response = callback(staff_client, "tallyfy", code="c", state=query["state"][0])
        assert b"Choose a Tallyfy organization" in response.content
        assert b"Beta (beta)" in response.content
        assert not Connection.objects.exists()
        assert b"tf-access" not in staff_client.session.encode(dict(staff_client.session)).encode()

        response = staff_client.post(
            reverse("dashboard:tallyfy_choose_org"), {"org_id": "beta"}, follow=True
        )
    connection = Connection.objects.get()
    assert (connection.provider, connection.external_id, connection.label) == (
        "tallyfy",
        "beta",
        "Beta",
    )
    assert connection.refresh_token == "tf-r"
    assert b"Connected Tallyfy: Beta" in response.content


@pytest.mark.django_db
def test_a_tally_api_key_is_checked_live_then_saved(staff_client, settings):
    with respx.mock:
        me = respx.get(f"{settings.TALLY_API_BASE_URL}/users/me").respond(json=ME)
        response = staff_client.post(
            reverse("dashboard:tally_api_key"), {"api_key": "tly-goodkey123456"}, follow=True
        )
    assert me.calls.last.request.headers["Authorization"] == "Bearer tly-goodkey123456"
    connection = Connection.objects.get()
    assert connection.auth_kind == "api_key" and connection.access_token == "tly-goodkey123456"
    assert b"Connected Tally: ada@example.com" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "vendor_status", "message"),
    [
        ("not-a-tally-key", None, "That is not a Tally API key"),
        (
            "tly-revokedkey00001",
            401,
            "Tally rejected the credentials (HTTP 401). Nothing was saved",
        ),
        ("tly-tallydown000001", 503, "Could not check the credentials with Tally"),
    ],
)
def test_a_bad_tally_api_key_gets_a_clear_error_and_nothing_is_stored(
    staff_client, settings, key, vendor_status, message
):
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{settings.TALLY_API_BASE_URL}/users/me").respond(vendor_status or 200, json={})
        response = staff_client.post(reverse("dashboard:tally_api_key"), {"api_key": key})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert key.encode() not in response.content
    assert not Connection.objects.exists()


@pytest.mark.django_db
def test_a_tallyfy_token_for_another_organization_is_refused(staff_client, settings):
    with respx.mock:
        respx.get(f"{settings.TALLYFY_API_BASE_URL}/me/organizations").respond(
            json={"data": [{"id": "acme", "name": "Acme"}]}
        )
        response = staff_client.post(
            reverse("dashboard:tallyfy_token"), {"token": "tf-pat-1234567", "org_id": "other"}
        )
    assert "cannot act in organization “other”" in response.content.decode()
    assert "Acme (acme)" in response.content.decode()
    assert not Connection.objects.exists()


@pytest.mark.django_db
def test_test_connection_answers_inline_over_htmx(staff_client, settings):
    connection = ConnectionFactory()
    with respx.mock:
        respx.get(f"{settings.TALLY_API_BASE_URL}/users/me").respond(json=ME)
        response = staff_client.post(
            reverse("dashboard:connection_test", args=[connection.pk]), HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert "<html" not in html  # a fragment for the swap, not a page
    assert "OK" in html and "Signed in to Tally as ada@example.com" in html


@pytest.mark.django_db
def test_test_connection_reports_a_revoked_token_and_the_banner_offers_reconnect(
    staff_client, settings
):
    connection = ConnectionFactory(auth_kind="api_key", refresh_token="")
    with respx.mock:
        respx.get(f"{settings.TALLY_API_BASE_URL}/users/me").respond(401, text="Unauthorized")
        response = staff_client.post(reverse("dashboard:connection_test", args=[connection.pk]))
    assert "Failed" in response.content.decode()
    assert "Tally rejected the API key" in response.content.decode()
    page = staff_client.get(reverse("dashboard:forms")).content.decode()
    assert "needs reconnecting" in page
    assert f"?reconnect={connection.pk}" in page


@pytest.mark.django_db
def test_reconnect_restores_the_same_connection(staff_client, vendors):
    broken = ConnectionFactory(external_id="usr_ada", status="needs_reconnect", last_error="x")
    query, _ = start(staff_client, "tally", reconnect=broken.pk)
    response = callback(staff_client, "tally", code="abc", state=query["state"][0])
    broken.refresh_from_db()
    assert broken.status == "active" and broken.last_error == ""
    assert broken.access_token == TOKENS["access_token"]
    assert Connection.objects.count() == 1
    assert b"Reconnected Tally" in response.content
    assert b"needs reconnecting" not in response.content
    assert AuditEvent.objects.get().action == "connection.reconnected"


@pytest.mark.django_db
def test_reconnecting_with_a_different_account_is_refused(staff_client, vendors):
    other = ConnectionFactory(external_id="usr_someone_else", status="needs_reconnect")
    query, _ = start(staff_client, "tally", reconnect=other.pk)
    response = callback(staff_client, "tally", code="abc", state=query["state"][0])
    assert "different Tally account" in response.content.decode()
    other.refresh_from_db()
    assert other.status == "needs_reconnect"
    assert Connection.objects.count() == 1


@pytest.mark.django_db
def test_disconnect_asks_first_then_deletes_the_tokens_and_records_who(staff_client, operator):
    connection = TallyfyConnectionFactory(label="Acme")
    url = reverse("dashboard:disconnect", args=[connection.pk])
    assert b"No mapping uses this connection" in staff_client.get(url).content
    assert Connection.objects.exists()
    response = staff_client.post(url, follow=True)
    assert b"Disconnected Tallyfy: Acme" in response.content
    assert not Connection.objects.exists()
    event = AuditEvent.objects.get()
    assert event.actor == operator and event.action == "connection.deleted"


@pytest.mark.django_db
def test_each_vendor_assumption_shows_its_source_what_was_seen_and_the_fallback(staff_client):
    from integrations import contract
    from tests.factories import TallyfyConnectionFactory

    tallyfy = TallyfyConnectionFactory()
    contract.check_record(
        tallyfy, contract.RUN_LOOKUP, held=True, detail="found by searching runs for its reference"
    )
    contract.check_record(tallyfy, contract.SUMMARY_KEPT, held=False, detail="summary dropped")

    page = staff_client.get(reverse("dashboard:connections")).content.decode()

    assert "What Kickoff assumes about Tallyfy" in page
    lookup = page[page.index(f"check-{tallyfy.pk}-run_lookup") :]
    lookup = lookup[: lookup.index("</tr>")]
    assert "guess" in lookup and "Verified" in lookup and "searching runs" in lookup
    assert "never relaunched blindly" in lookup
    summary = page[page.index(f"check-{tallyfy.pk}-summary_kept") :]
    assert "Failed" in summary[: summary.index("</tr>")]
