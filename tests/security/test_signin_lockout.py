"""Issue #17, finding 2: passwords cannot be guessed forever on /login/ or /admin/login/."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.models import AuditEvent

LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def _empty_cache(clean_cache):
    """Attempts are counted in the cache: every test starts with none."""


def _guess(client, path, username, password="wrong", ip="198.51.100.7"):
    return client.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", [LOGIN, ADMIN_LOGIN])
def test_after_five_wrong_passwords_even_the_right_one_is_refused(client, settings, path):
    get_user_model().objects.create_superuser("ada", "ada@example.com", "right-pass-123")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _guess(client, path, "ada").status_code == 200  # the form again, with an error
    assert _guess(client, path, "ada").status_code == 429  # the fifth locks
    response = _guess(client, path, "ada", password="right-pass-123")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-ins." in html
    assert "<code>ada</code> is paused for 15 minutes after 5 wrong passwords" in html
    assert client.get("/").status_code == 302  # nobody signed in


@pytest.mark.django_db
def test_a_username_is_locked_whatever_address_the_guesses_come_from(client, operator):
    for i in range(5):
        _guess(client, LOGIN, "olivia", ip=f"203.0.113.{i}")
    assert _guess(client, LOGIN, "olivia", "operator-pass-123", ip="192.0.2.1").status_code == 429


@pytest.mark.django_db
def test_an_address_is_locked_whatever_usernames_it_tries(client, operator):
    for name in ("a", "b", "c", "d", "e"):
        _guess(client, LOGIN, name, ip="203.0.113.9")
    assert _guess(client, LOGIN, "olivia", "operator-pass-123", ip="203.0.113.9").status_code == 429
    # Someone else, elsewhere, still signs in.
    assert _guess(client, LOGIN, "olivia", "operator-pass-123", ip="192.0.2.1").status_code == 302


@pytest.mark.django_db
def test_a_lockout_leaves_one_audit_event_and_failures_write_no_rows(client, operator):
    with CaptureQueriesContext(connection) as queries:
        for _ in range(4):
            _guess(client, LOGIN, "olivia")
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []  # single failures live in the cache only
    _guess(client, LOGIN, "olivia")
    event = AuditEvent.objects.get()
    assert event.action == "signin.locked_out"
    assert event.object_type == "User" and event.object_id == str(operator.pk)
    assert event.data == {"username": "olivia", "ip_address": "198.51.100.7", "path": LOGIN}
    assert "olivia" in event.summary and "198.51.100.7" in event.summary
    assert "wrong" not in str(event.data)  # the guessed password is never kept


@pytest.mark.django_db
def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(client, operator, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for i in range(5):
        client.post(
            LOGIN,
            {"username": f"u{i}", "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"6.6.6.6, 203.0.113.{i}",  # the first part is the client's claim
        )
    # Five different clients behind one proxy: nobody is locked out by address.
    response = client.post(
        LOGIN,
        {"username": "olivia", "password": "operator-pass-123"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.200",
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:overview")
    # One client guessing through the proxy is still locked out by its own address.
    client.logout()
    for name in ("a", "b", "c", "d", "e"):
        last = client.post(
            LOGIN,
            {"username": name, "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.66",
        )
    assert last.status_code == 429
