"""Selectors behind the Forms pages: cache, Refresh, stale-on-error, odd analytics shapes.

Tally is faked at the HTTP boundary (respx) with the shapes docs/vendor-notes.md documents.
"""

FORM_ID = "wA1"
GROUP_COLOR = "grp-color"

QUESTIONS = [
    {
        "id": "qName",
        "type": "INPUT_TEXT",
        "title": "Company name",
        "fields": [
            {
                "uuid": "f-name",
                "type": "INPUT_TEXT",
                "blockGroupUuid": "grp-name",
                "title": "Company name",
            }
        ],
    },
    {
        "id": "qSize",
        "type": "INPUT_NUMBER",
        "title": "Team size",
        "fields": [
            {
                "uuid": "f-size",
                "type": "INPUT_NUMBER",
                "blockGroupUuid": "grp-size",
                "title": "Team size",
            }
        ],
    },
    {
        "id": "qColor",
        "type": "MULTIPLE_CHOICE",
        "title": "Colour",
        "fields": [
            {
                "uuid": "f-color",
                "type": "MULTIPLE_CHOICE",
                "blockGroupUuid": GROUP_COLOR,
                "title": "Colour",
            }
        ],
    },
    {
        "id": "qNews",
        "type": "CHECKBOXES",
        "title": "Newsletter",
        "fields": [
            {
                "uuid": "f-news",
                "type": "CHECKBOXES",
                "blockGroupUuid": "grp-news",
                "title": "Newsletter",
            }
        ],
    },
]

FORM = {
    "id": FORM_ID,
    "name": "Client onboarding",
    "status": "PUBLISHED",
    "blocks": [
        {
            "uuid": "opt-red",
            "type": "MULTIPLE_CHOICE_OPTION",
            "groupUuid": GROUP_COLOR,
            "groupType": "MULTIPLE_CHOICE",
            "payload": {"index": 0, "text": "Red", "isRequired": True},
        },
        {
            "uuid": "opt-blue",
            "type": "MULTIPLE_CHOICE_OPTION",
            "groupUuid": GROUP_COLOR,
            "groupType": "MULTIPLE_CHOICE",
            "payload": {"index": 1, "text": "Blue", "isRequired": True},
        },
        {
            "uuid": "opt-yes",
            "type": "CHECKBOX",
            "groupUuid": "grp-news",
            "groupType": "CHECKBOXES",
            "payload": {"index": 0, "text": "Weekly"},
        },
        {
            "uuid": "opt-no",
            "type": "CHECKBOX",
            "groupUuid": "grp-news",
            "groupType": "CHECKBOXES",
            "payload": {"index": 1, "text": "Monthly"},
        },
    ],
    "settings": {},
}


def form_summary(form_id=FORM_ID, name="Client onboarding", workspace="ws1", **extra):
    return {
        "id": form_id,
        "name": name,
        "workspaceId": workspace,
        "status": "PUBLISHED",
        "numberOfSubmissions": 3,
        "isClosed": False,
        "createdAt": "2025-01-01T10:00:00.000Z",
        "updatedAt": "2025-03-01T10:00:00.000Z",
        **extra,
    }


def forms_page(*forms, has_more=False, page=1):
    return {
        "items": list(forms),
        "page": page,
        "limit": 500,
        "total": len(forms),
        "hasMore": has_more,
    }


def submission(
    sid,
    *,
    name="Acme",
    size=0,
    color="Blue",
    news=("Weekly", "Monthly"),
    completed=True,
    at="2025-03-01T10:00:00.000Z",
):
    responses = [{"id": f"{sid}-1", "questionId": "qName", "answer": name}]
    if size is not None:
        responses.append(
            {"id": f"{sid}-2", "questionId": "qSize", "value": size}
        )  # `value`, as the reference page says
    if color is not None:
        responses.append({"id": f"{sid}-3", "questionId": "qColor", "answer": [color]})
    if news is not None:
        responses.append({"id": f"{sid}-4", "questionId": "qNews", "answer": list(news)})
    return {
        "id": sid,
        "formId": FORM_ID,
        "respondentId": "r1",
        "isCompleted": completed,
        "submittedAt": at,
        "responses": responses,
    }


def submissions_page(*subs, has_more=False, page=1, totals=None):
    return {
        "page": page,
        "limit": 50,
        "hasMore": has_more,
        "totalNumberOfSubmissionsPerFilter": totals
        or {"all": len(subs), "completed": len(subs), "partial": 0},
        "questions": QUESTIONS,
        "submissions": list(subs),
    }


METRICS = {
    "visits": 200,
    "visitDuration": 50,
    "submissions": 50,
    "uniqueRespondents": 60,
    "totalViews": 250,
    "starts": 80,
    "completions": 50,
    "completionDuration": 192,
    "completionRate": 25.0,
}
VISITS = {
    "data": {"2025-03-01": {"totalVisits": 12}, "2025-03-02": {"totalVisits": 7}},
    "interval": "day",
}
SUBMISSIONS = {
    "data": {
        "2025-03-01": {"completed": 3, "partial": 1},
        "2025-03-02": {"completed": 2, "partial": 0},
    },
    "interval": "day",
}
DIMENSIONS = {
    "sources": [{"name": "newsletter", "visits": 9, "submissions": 3}],
    "devices": [{"name": "Desktop", "visits": 12, "submissions": 4}],
    "countries": [{"name": "Belgium", "visits": 5, "submissions": 2}],
}
DROP_OFF = {
    "stats": {"visits": 200, "starts": 80, "completions": 50},
    "dataAvailableSince": "2025-01-01T00:00:00.000Z",
    "data": [
        {
            "blockGroupUuid": "grp-name",
            "title": "Company name",
            "type": "INPUT_TEXT",
            "views": 80,
            "startedViews": 80,
            "answers": 78,
            "drops": 20,
            "answerRate": 97.5,
            "dropRate": 25.0,
            "isRequired": True,
        },
        {
            "blockGroupUuid": "grp-size",
            "title": "Team size",
            "type": "INPUT_NUMBER",
            "views": 60,
            "startedViews": 60,
            "answers": 50,
            "drops": 10,
            "isRequired": False,
        },
    ],
    "hasConditionalLogic": False,
}
ANALYTICS = {
    "metrics": METRICS,
    "visits": VISITS,
    "submissions": SUBMISSIONS,
    "dimensions": DIMENSIONS,
    "drop-off": DROP_OFF,
}


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------

import time  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402
import respx  # noqa: E402
from django.core.cache import cache  # noqa: E402

from integrations.http import NotFound  # noqa: E402
from integrations.models import Connection  # noqa: E402
from integrations.selectors import tally as tally_selectors  # noqa: E402
from tests.factories import ConnectionFactory  # noqa: E402


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tally(settings):
    with respx.mock(base_url=settings.TALLY_API_BASE_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def connection(db):
    return ConnectionFactory(
        auth_kind=Connection.AuthKind.API_KEY,
        refresh_token="",
        expires_at=None,
        label="ada@example.com",
    )


def minutes_ago(monkeypatch, minutes):
    """Make the next cache write look `minutes` old."""
    real = time.time
    monkeypatch.setattr(tally_selectors.time, "time", lambda: real() - minutes * 60)
    return lambda: monkeypatch.setattr(tally_selectors.time, "time", real)


def test_it_serves_a_second_read_from_the_cache(tally, connection):
    route = tally.get("/forms").respond(json=forms_page(form_summary()))
    first = tally_selectors.tally_forms()
    second = tally_selectors.tally_forms()
    assert route.call_count == 1
    assert [r.form.name for r in second.rows] == ["Client onboarding"]
    assert first.problems == second.problems == []


def test_refresh_asks_tally_again(tally, connection):
    route = tally.get("/forms").respond(json=forms_page(form_summary()))
    tally_selectors.tally_forms()
    tally_selectors.tally_forms(refresh=True)
    assert route.call_count == 2


def test_the_cache_is_per_connection_and_arguments(tally, connection):
    other = ConnectionFactory(
        auth_kind=Connection.AuthKind.API_KEY, refresh_token="", expires_at=None
    )
    route = tally.get(f"/forms/{FORM_ID}/submissions").respond(
        json=submissions_page(submission("s1"))
    )
    tally_selectors.tally_submissions(connection, FORM_ID, status="all")
    tally_selectors.tally_submissions(connection, FORM_ID, status="partial")
    tally_selectors.tally_submissions(other, FORM_ID, status="all")
    tally_selectors.tally_submissions(connection, FORM_ID, status="all")
    assert route.call_count == 3


def test_it_shows_the_last_good_copy_with_a_notice_when_tally_answers_429(
    tally, connection, monkeypatch
):
    route = tally.get(f"/forms/{FORM_ID}/submissions")
    route.side_effect = [
        httpx.Response(200, json=submissions_page(submission("s1"))),
        httpx.Response(429, json={"message": "Too many requests"}, headers={"Retry-After": "30"}),
    ]
    restore = minutes_ago(monkeypatch, 3)
    tally_selectors.tally_submissions(connection, FORM_ID)
    restore()

    shown = tally_selectors.tally_submissions(connection, FORM_ID)

    assert route.call_count == 2
    assert [s.id for s in shown.data.items] == ["s1"]
    assert shown.notice == "Tally is rate-limiting us; showing data from 3 minutes ago."
    assert shown.ok and not shown.error


def test_it_says_so_when_tally_is_down_and_there_is_no_copy(tally, connection):
    tally.get(f"/forms/{FORM_ID}/submissions").respond(503, text="upstream down")
    shown = tally_selectors.tally_submissions(connection, FORM_ID)
    assert shown.data.items == []
    assert shown.error.startswith("Tally is not answering (HTTP 503)")
    assert "no earlier copy" in shown.error


def test_a_timeout_counts_as_unavailable(tally, connection):
    tally.get(f"/forms/{FORM_ID}").mock(side_effect=httpx.ConnectTimeout("slow"))
    shown = tally_selectors.tally_form(connection, FORM_ID)
    assert shown.data is None
    assert shown.error.startswith("Tally did not answer in time")


def test_a_connection_needing_reconnect_points_at_reconnect(tally, connection):
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.NEEDS_RECONNECT, last_error="API key revoked"
    )
    connection.refresh_from_db()
    overview = tally_selectors.tally_forms()
    [(broken, fetched)] = overview.problems
    assert broken == connection and fetched.reconnect == connection
    assert "needs reconnecting" in fetched.error and "Reconnect" in fetched.error


def test_an_unknown_form_is_not_found(tally, connection):
    tally.get(f"/forms/{FORM_ID}").respond(404, json={"message": "Form not found"})
    with pytest.raises(NotFound):
        tally_selectors.tally_form(connection, FORM_ID)


def test_questions_get_their_options_from_the_form_blocks(tally, connection):
    tally.get(f"/forms/{FORM_ID}/questions").respond(
        json={"questions": QUESTIONS, "hasResponses": True}
    )
    tally.get(f"/forms/{FORM_ID}").respond(json=FORM)
    questions = tally_selectors.tally_questions(connection, FORM_ID).data
    by_id = {q["id"]: q for q in questions}
    assert by_id["qColor"]["options"] == [
        {"id": "opt-red", "text": "Red"},
        {"id": "opt-blue", "text": "Blue"},
    ]
    assert by_id["qColor"]["required"] is True
    assert [o["text"] for o in by_id["qNews"]["options"]] == ["Weekly", "Monthly"]
    assert "options" not in by_id["qName"]


def test_every_submission_is_read_page_after_page(tally, connection):
    route = tally.get(f"/forms/{FORM_ID}/submissions")
    route.side_effect = [
        httpx.Response(
            200, json=submissions_page(submission("s1"), submission("s2"), has_more=True)
        ),
        httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "1"}),
        httpx.Response(200, json=submissions_page(submission("s3"), page=2)),
    ]
    slept = []
    seen_questions = []
    ids = [
        s.id
        for s in tally_selectors.iter_all_submissions(
            connection,
            FORM_ID,
            status="completed",
            on_questions=seen_questions.append,
            sleep=slept.append,
        )
    ]
    assert ids == ["s1", "s2", "s3"]
    assert slept == [1.0]
    assert [c.request.url.params["page"] for c in route.calls] == ["1", "2", "2"]
    assert {c.request.url.params["filter"] for c in route.calls} == {"completed"}
    assert [q.id for q in seen_questions[0]] == [q["id"] for q in QUESTIONS]


def test_an_export_stops_with_a_reason_after_repeated_outages(tally, connection):
    tally.get(f"/forms/{FORM_ID}/submissions").respond(502)
    with pytest.raises(tally_selectors.ExportStopped, match="HTTP 502"):
        list(tally_selectors.iter_all_submissions(connection, FORM_ID, sleep=lambda s: None))
