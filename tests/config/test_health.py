from unittest import mock

import pytest


@pytest.mark.django_db
def test_healthz_answers_without_auth(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "down": ["broker"]}


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_is_down(client):
    with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor") as cursor:
        cursor.side_effect = RuntimeError("connection refused")
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "database" in response.json()["down"]
