"""CSV export of a form's submissions: streamed, every page, one column per question."""

import csv
import io

import httpx
import pytest
import respx
from django.core.cache import cache
from django.http import StreamingHttpResponse
from django.urls import reverse

from integrations.models import Connection
from tests.factories import ConnectionFactory
from tests.integrations.selectors.test_tally import (
    FORM,
    FORM_ID,
    QUESTIONS,
    submission,
    submissions_page,
)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def connection(db):
    return ConnectionFactory(
        auth_kind=Connection.AuthKind.API_KEY, refresh_token="", expires_at=None
    )


@pytest.fixture
def tally(settings):
    with respx.mock(base_url=settings.TALLY_API_BASE_URL, assert_all_called=False) as mock:
        mock.get(f"/forms/{FORM_ID}").respond(json=FORM)
        mock.get(f"/forms/{FORM_ID}/questions").respond(json={"questions": QUESTIONS})
        yield mock


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_exports_resolved_answers_across_every_page(staff_client, tally, connection):
    route = tally.get(f"/forms/{FORM_ID}/submissions")
    route.side_effect = [
        httpx.Response(
            200,
            json=submissions_page(
                submission("s3", name="Initech", size=0, color="Red", news=["Weekly"]),
                submission("s2", name="Globex", size=12, color=None, news=None, completed=False),
                has_more=True,
            ),
        ),
        httpx.Response(200, json=submissions_page(submission("s1", name="Acme"), page=2)),
    ]
    response = staff_client.get(
        reverse("dashboard:form_submissions_csv", args=[connection.pk, FORM_ID]),
        {"status": "completed"},
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)

    assert rows[0] == [
        "Submission ID",
        "Submitted at",
        "Completed",
        "Company name",
        "Team size",
        "Colour",
        "Newsletter",
    ]
    assert rows[1] == ["s3", "2025-03-01T10:00:00+00:00", "yes", "Initech", "0", "Red", "Weekly"]
    assert rows[2] == ["s2", "2025-03-01T10:00:00+00:00", "no", "Globex", "12", "", ""]
    assert rows[3][0] == "s1" and rows[3][5:] == ["Blue", "Weekly, Monthly"]
    assert len(rows) == 4
    assert [c.request.url.params["page"] for c in route.calls] == ["1", "2"]
    assert {c.request.url.params["filter"] for c in route.calls} == {"completed"}
    assert all("endDate" in c.request.url.params for c in route.calls)  # pinned to "now"


def test_an_empty_form_exports_just_the_header(staff_client, tally, connection):
    tally.get(f"/forms/{FORM_ID}/submissions").respond(json=submissions_page())
    rows = read_csv(
        staff_client.get(reverse("dashboard:form_submissions_csv", args=[connection.pk, FORM_ID]))
    )
    assert rows == [
        [
            "Submission ID",
            "Submitted at",
            "Completed",
            "Company name",
            "Team size",
            "Colour",
            "Newsletter",
        ]
    ]


def test_an_export_cut_short_by_tally_says_so_in_the_file(
    staff_client, tally, connection, monkeypatch
):
    from integrations.selectors import tally as tally_selectors

    monkeypatch.setattr(tally_selectors.time, "sleep", lambda s: None)
    route = tally.get(f"/forms/{FORM_ID}/submissions")
    route.side_effect = [
        httpx.Response(200, json=submissions_page(submission("s1"), has_more=True))
    ] + [httpx.Response(503)] * 4
    rows = read_csv(
        staff_client.get(reverse("dashboard:form_submissions_csv", args=[connection.pk, FORM_ID]))
    )
    assert rows[1][0] == "s1"
    assert rows[-1][0].startswith("# Export incomplete: Tally is not answering (HTTP 503)")
