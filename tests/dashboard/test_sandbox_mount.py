"""The sandbox is a stand-in for the vendors: it must never be reachable when SANDBOX is off."""

import importlib

import pytest
from django.urls import clear_url_caches

import config.urls


def _reload_urls():
    clear_url_caches()
    importlib.reload(config.urls)


@pytest.fixture
def sandbox_off(settings):
    settings.SANDBOX = False
    _reload_urls()
    yield
    settings.SANDBOX = True
    _reload_urls()


@pytest.mark.django_db
def test_the_sandbox_is_not_mounted_when_sandbox_is_off(client, sandbox_off):
    for path in ("/sandbox/", "/sandbox/tally/api/users/me", "/sandbox/tallyfy/oauth/authorize"):
        assert client.get(path).status_code == 404, path


@pytest.mark.django_db
def test_the_sandbox_is_mounted_when_sandbox_is_on(client, settings):
    assert settings.SANDBOX
    assert client.get("/sandbox/").status_code == 200
