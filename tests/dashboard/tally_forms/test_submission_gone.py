"""A submission Tally no longer has: Kickoff's stored copy, or a friendly 404 (Tally faked
at the HTTP boundary with respx)."""

from datetime import UTC, datetime

import pytest
import respx
from django.core.cache import cache
from django.urls import reverse

from integrations.models import Connection, Submission
from tests import pipeline_factories as pf
from tests.factories import ConnectionFactory
from tests.integrations.selectors.test_tally import FORM, FORM_ID, QUESTIONS

GONE = {"message": "Submission not found"}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tally(settings):
    with respx.mock(base_url=settings.TALLY_API_BASE_URL, assert_all_called=False) as mock:
        mock.get(f"/forms/{FORM_ID}").respond(json=FORM)
        mock.get(f"/forms/{FORM_ID}/questions").respond(json={"questions": QUESTIONS})
        yield mock


@pytest.fixture
def connection(db):
    return ConnectionFactory(
        auth_kind=Connection.AuthKind.API_KEY, refresh_token="", expires_at=None
    )


def stored(submission_id="s9", **fields):
    data = pf.envelope(
        form_id=FORM_ID, submission_id=submission_id, fields=pf.support_fields(**fields)
    )
    return Submission.objects.create(
        form_id=FORM_ID,
        submission_id=submission_id,
        form_name="Client onboarding",
        event_id=data["eventId"],
        raw_body=pf.body_of(data),
        received_at=datetime(2025, 3, 4, 10, 15, tzinfo=UTC),
    )


def page(client, connection, submission_id):
    return client.get(reverse("dashboard:submission", args=[connection.pk, FORM_ID, submission_id]))


def test_a_submission_tally_deleted_shows_the_copy_kickoff_received(
    staff_client, tally, connection
):
    stored(email="nia@example.com", problem="Login loops")
    tally.get(f"/forms/{FORM_ID}/submissions/s9").respond(404, json=GONE)

    response = page(staff_client, connection, "s9")

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "Tally no longer has this submission; showing the copy Kickoff received on "
        "2025-03-04 10:15 UTC." in html
    )
    answers = html[html.index('id="answers"') : html.index("Raw JSON Kickoff received")]
    assert "nia@example.com" in answers and "Login loops" in answers
    assert "Describe the problem" in answers
    assert "resp01" in html  # the respondent, from the stored body


def test_a_deleted_form_still_shows_the_stored_copy_named_as_kickoff_received_it(
    staff_client, tally, connection
):
    stored(problem="Export broken")
    tally.get(f"/forms/{FORM_ID}").respond(404, json=GONE)

    html = page(staff_client, connection, "s9").content.decode()

    assert "Tally no longer has this submission" in html
    assert "Export broken" in html and "Client onboarding" in html


def test_with_no_copy_either_the_page_is_a_friendly_404(staff_client, tally, connection):
    tally.get(f"/forms/{FORM_ID}/submissions/zz").respond(404, json=GONE)

    response = page(staff_client, connection, "zz")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Tally no longer has this submission" in html
    assert "Kickoff never received a copy of it" in html
    assert "All submissions" in html  # a way back, inside the form's tabs
