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
def test_readyz_checks_the_folders_of_a_filesystem_broker(client, settings, tmp_path):
    queue = tmp_path / "queue"
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
    }
    gone = client.get("/readyz")
    queue.mkdir()
    there = client.get("/readyz")

    assert gone.status_code == 503 and gone.json()["down"] == ["broker"]
    assert there.status_code == 200 and there.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_is_down(client):
    with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor") as cursor:
        cursor.side_effect = RuntimeError("connection refused")
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "database" in response.json()["down"]
