"""Tokens that take care of themselves: refresh before expiry, once on 401, never twice in
parallel; a dead grant turns into a clear 'needs reconnect'."""

import threading
from datetime import timedelta

import httpx
import pytest
import respx
from django.core import mail
from django.utils import timezone

from integrations.connections import (
    NeedsReconnect,
    connection_call,
    connection_refresh,
    refresh_expiring_connections,
)
from integrations.models import AuditEvent, Connection
from tests.factories import ConnectionFactory, TallyfyConnectionFactory

ME = {"id": "usr_1", "email": "ada@example.com", "fullName": "Ada", "organizationId": "org_1"}


@pytest.fixture
def tally_api(settings):
    with respx.mock(base_url=settings.TALLY_API_BASE_URL, assert_all_called=False) as api:
        yield api


@pytest.mark.django_db
def test_it_refreshes_a_token_about_to_expire_before_calling(tally_api, settings):
    connection = ConnectionFactory(expires_at=timezone.now() + timedelta(seconds=30))
    refresh = tally_api.post(settings.TALLY_OAUTH_TOKEN_URL).respond(
        json={"access_token": "fresh-access-token-xyz", "expires_in": 3600}
    )
    me = tally_api.get("/users/me").respond(json=ME)

    result = connection_call(connection, lambda c: c.get_me())

    assert result.email == "ada@example.com"
    assert refresh.call_count == 1
    assert me.calls.last.request.headers["Authorization"] == "Bearer fresh-access-token-xyz"
    connection.refresh_from_db()
    assert connection.access_token == "fresh-access-token-xyz"
    # Tally's refresh response omitted refresh_token: the old one is kept.
    assert connection.refresh_token.startswith("refresh-token-")
    assert connection.expires_at > timezone.now() + timedelta(minutes=59)


@pytest.mark.django_db
def test_it_refreshes_once_on_401_and_retries_the_call(tally_api, settings):
    connection = ConnectionFactory()
    tally_api.get("/users/me").mock(
        side_effect=[httpx.Response(401, text="Unauthorized"), httpx.Response(200, json=ME)]
    )
    refresh = tally_api.post(settings.TALLY_OAUTH_TOKEN_URL).respond(
        json={"access_token": "new-token-after-401", "refresh_token": "rotated-refresh-1"}
    )

    assert connection_call(connection, lambda c: c.get_me()).id == "usr_1"

    assert refresh.call_count == 1
    connection.refresh_from_db()
    assert connection.access_token == "new-token-after-401"
    assert connection.refresh_token == "rotated-refresh-1"
    assert connection.status == Connection.Status.ACTIVE
    assert connection.last_used_at is not None


@pytest.mark.django_db
def test_a_failed_refresh_marks_the_connection_needs_reconnect_and_tells_staff(
    tally_api, settings, operator
):
    connection = ConnectionFactory()
    tally_api.get("/users/me").respond(401, text="Unauthorized")
    tally_api.post(settings.TALLY_OAUTH_TOKEN_URL).respond(
        400, json={"error": "invalid_grant", "error_description": "refresh token revoked"}
    )

    with pytest.raises(NeedsReconnect) as excinfo:
        connection_call(connection, lambda c: c.get_me())

    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_RECONNECT
    assert "invalid_grant" in connection.last_error
    assert "invalid_grant" in excinfo.value.reason
    assert AuditEvent.objects.filter(action="connection.needs_reconnect").count() == 1
    assert len(mail.outbox) == 1
    assert "needs reconnecting" in mail.outbox[0].subject
    assert connection.refresh_token not in mail.outbox[0].body


@pytest.mark.django_db
def test_a_refused_api_key_needs_reconnect_without_any_refresh(tally_api, settings):
    connection = ConnectionFactory(auth_kind=Connection.AuthKind.API_KEY, refresh_token="")
    tally_api.get("/users/me").respond(401, json={"message": "Unauthorized"})
    refresh = tally_api.post(settings.TALLY_OAUTH_TOKEN_URL)

    with pytest.raises(NeedsReconnect, match="rejected the API key"):
        connection_call(connection, lambda c: c.get_me())

    assert not refresh.called
    connection.refresh_from_db()
    assert connection.needs_reconnect


@pytest.mark.django_db
def test_a_connection_needing_reconnect_is_not_called_at_all(tally_api):
    connection = ConnectionFactory(status=Connection.Status.NEEDS_RECONNECT, last_error="revoked")
    me = tally_api.get("/users/me").respond(json=ME)
    with pytest.raises(NeedsReconnect):
        connection_call(connection, lambda c: c.get_me())
    assert not me.called


@pytest.mark.django_db
def test_an_unreachable_token_endpoint_keeps_the_connection_active(tally_api, settings):
    connection = ConnectionFactory(expires_at=timezone.now())
    tally_api.post(settings.TALLY_OAUTH_TOKEN_URL).mock(side_effect=httpx.ConnectError("down"))

    with pytest.raises(Exception, match="could not be reached"):
        connection_call(connection, lambda c: c.get_me())

    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert "could not be reached" in connection.last_error


@pytest.mark.django_db
def test_tallyfy_refresh_stores_the_rotated_refresh_token(settings):
    connection = TallyfyConnectionFactory(expires_at=timezone.now())
    with respx.mock:
        route = respx.post(settings.TALLYFY_OAUTH_TOKEN_URL).respond(
            json={"access_token": "tf-new", "refresh_token": "tf-rotated", "expires_in": 3600}
        )
        connection = connection_refresh(connection)
    sent = dict(httpx.QueryParams(route.calls.last.request.content.decode()))
    assert sent["grant_type"] == "refresh_token"
    assert sent["client_id"] == settings.TALLYFY_CLIENT_ID
    assert route.calls.last.request.headers["content-type"].startswith(
        "application/x-www-form-urlencoded"
    )
    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token) == ("tf-new", "tf-rotated")


@pytest.mark.django_db(transaction=True)
def test_two_processes_hitting_401_at_once_spend_the_refresh_token_only_once(settings):
    """Tallyfy rotates refresh tokens: spending one twice would kill the connection."""
    connection = TallyfyConnectionFactory()
    stale = connection.access_token
    calls = []

    def token_endpoint(request):
        calls.append(request)
        return httpx.Response(
            200, json={"access_token": f"tf-{len(calls)}", "refresh_token": f"rt-{len(calls)}"}
        )

    results, errors = [], []

    def worker():
        try:
            row = Connection.objects.get(pk=connection.pk)
            results.append(connection_refresh(row, stale_access_token=stale).access_token)
        except Exception as exc:  # pragma: no cover - surfaced by the assertion below
            errors.append(exc)
        finally:
            from django.db import connection as db

            db.close()

    with respx.mock:
        respx.post(settings.TALLYFY_OAUTH_TOKEN_URL).mock(side_effect=token_endpoint)
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert errors == []
    assert len(calls) == 1
    assert results == ["tf-1", "tf-1"]
    connection.refresh_from_db()
    assert connection.refresh_token == "rt-1"


@pytest.mark.django_db
def test_the_periodic_sweep_refreshes_only_connections_expiring_soon(settings):
    soon = TallyfyConnectionFactory(expires_at=timezone.now() + timedelta(minutes=5))
    later = TallyfyConnectionFactory(expires_at=timezone.now() + timedelta(hours=5))
    key = TallyfyConnectionFactory(
        auth_kind=Connection.AuthKind.API_KEY, refresh_token="", expires_at=None
    )
    with respx.mock:
        route = respx.post(settings.TALLYFY_OAUTH_TOKEN_URL).respond(
            json={"access_token": "swept", "refresh_token": "swept-rt", "expires_in": 3600}
        )
        assert refresh_expiring_connections() == 1
    assert route.call_count == 1
    soon.refresh_from_db()
    later.refresh_from_db()
    key.refresh_from_db()
    assert soon.access_token == "swept"
    assert later.access_token != "swept" and key.access_token != "swept"


def test_beat_runs_the_token_refresh_sweep_every_five_minutes(settings):
    from config.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-expiring-tokens"]
    assert entry["schedule"] == 300
    assert entry["task"] in app.tasks
