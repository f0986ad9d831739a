"""The Forms pages as an operator sees them; Tally faked at the HTTP boundary (respx)."""

import httpx
import pytest
import respx
from django.core.cache import cache
from django.urls import reverse

from integrations.models import Connection
from tests.factories import ConnectionFactory
from tests.integrations.selectors.test_tally import (
    ANALYTICS,
    FORM,
    FORM_ID,
    QUESTIONS,
    form_summary,
    forms_page,
    submission,
    submissions_page,
)


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
        auth_kind=Connection.AuthKind.API_KEY,
        refresh_token="",
        expires_at=None,
        label="ada@example.com",
    )


def url(name, connection, *extra):
    return reverse(f"dashboard:{name}", args=[connection.pk, FORM_ID, *extra])


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_every_accounts_forms_and_filters_them(staff_client, tally, connection):
    other = ConnectionFactory(
        auth_kind=Connection.AuthKind.API_KEY, refresh_token="", expires_at=None, label="bo@x.test"
    )
    tally.get("/forms").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=forms_page(form_summary(), form_summary("wB2", "Support intake", workspace="ws2"))
            if request.headers["Authorization"].endswith(connection.access_token)
            else forms_page(form_summary("wC3", "Other team survey", workspace="ws9")),
        )
    )
    html = staff_client.get(reverse("dashboard:forms")).content.decode()
    for name in ("Client onboarding", "Support intake", "Other team survey", "bo@x.test"):
        assert name in html
    assert "3 forms" in html
    assert reverse("dashboard:form_latest", args=[connection.pk, FORM_ID]) in html

    html = staff_client.get(reverse("dashboard:forms"), {"q": "SUPPORT"}).content.decode()
    assert "Support intake" in html and "Client onboarding" not in html
    html = staff_client.get(reverse("dashboard:forms"), {"account": other.pk}).content.decode()
    assert "Other team survey" in html and "Support intake" not in html
    html = staff_client.get(reverse("dashboard:forms"), {"workspace": "ws2"}).content.decode()
    assert "Support intake" in html and "Other team survey" not in html
    assert tally.routes[2].call_count == 2  # once per account: the rest came from the cache


def test_the_list_pages_and_htmx_gets_only_the_results(staff_client, tally, connection):
    forms = [form_summary(f"f{i:02d}", f"Form {i:02d}") for i in range(30)]
    tally.get("/forms").respond(json=forms_page(*forms))
    first = staff_client.get(reverse("dashboard:forms")).content.decode()
    assert first.count('<tr id="form-') == 25 and "Page 1 of 2" in first
    second = staff_client.get(reverse("dashboard:forms"), {"page": 2}, HTTP_HX_REQUEST="true")
    html = second.content.decode()
    assert html.count('<tr id="form-') == 5
    assert "<html" not in html


def test_a_broken_account_shows_a_reconnect_banner_not_an_error(staff_client, tally, connection):
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.NEEDS_RECONNECT,
        last_error="Tally rejected the API key (HTTP 401).",
    )
    response = staff_client.get(reverse("dashboard:forms"))
    assert response.status_code == 200
    assert "needs reconnecting" in response.content.decode()
    assert "Reconnect" in response.content.decode()


def test_the_last_submission_cell_says_how_long_ago(staff_client, tally, connection):
    tally.get(f"/forms/{FORM_ID}/submissions").respond(json=submissions_page(submission("s1")))
    html = staff_client.get(url("form_latest", connection)).content.decode()
    assert "<time" in html and "ago" in html


def test_refresh_asks_tally_again_then_returns_to_a_clean_url(staff_client, tally, connection):
    route = tally.get("/forms").respond(json=forms_page(form_summary()))
    staff_client.get(reverse("dashboard:forms"))
    response = staff_client.get(reverse("dashboard:forms"), {"refresh": "1", "q": "client"})
    assert response.status_code == 302 and response["Location"] == "/forms/?q=client"
    assert route.call_count == 2


# --- unknown ids ---------------------------------------------------------------------------


def test_unknown_connections_and_forms_are_404(staff_client, tally, connection):
    assert staff_client.get("/forms/999/x/questions/").status_code == 404
    tally.get("/forms/nope").respond(404, json={"message": "Form not found"})
    tally.get("/forms/nope/questions").respond(404, json={"message": "Form not found"})
    for tab in ("questions", "submissions", "analytics"):
        assert staff_client.get(f"/forms/{connection.pk}/nope/{tab}/").status_code == 404
    assert staff_client.get(f"/forms/{connection.pk}/nope/submissions.csv").status_code == 404


# --- questions -----------------------------------------------------------------------------


def test_questions_show_types_options_and_webhook_keys(staff_client, tally, connection):
    html = staff_client.get(url("form_questions", connection)).content.decode()
    for text in ("question_qColor", "question_qName", "MULTIPLE_CHOICE", "Red", "Blue", "Weekly"):
        assert text in html
    assert "Client onboarding" in html  # the form's name in the heading


# --- submissions ---------------------------------------------------------------------------


def test_submissions_show_resolved_answers_newest_first_with_load_more(
    staff_client, tally, connection
):
    route = tally.get(f"/forms/{FORM_ID}/submissions").respond(
        json=submissions_page(
            submission("s2", at="2025-03-02T10:00:00.123Z"),
            submission("s1", color="Red"),
            has_more=True,
            totals={"all": 80, "completed": 70, "partial": 10},
        )
    )
    html = staff_client.get(url("form_submissions", connection)).content.decode()
    assert html.index('id="submission-s2"') < html.index('id="submission-s1"')
    assert "Acme" in html and "Red" in html
    assert "Load more" in html and 'hx-get="' in html
    assert "Completed <strong>70</strong>" in html

    page2 = staff_client.get(
        url("form_submissions", connection),
        {"page": 2, "until": "2025-03-02T10:00:00.123000+00:00", "status": "all"},
        HTTP_HX_REQUEST="true",
    )
    rows = page2.content.decode()
    assert "<html" not in rows and 'id="submission-s2"' in rows
    params = route.calls.last.request.url.params
    assert params["page"] == "2"
    # Pinned to the newest row first shown (its whole millisecond): new arrivals can't
    # shift Tally's pages under Load more.
    assert params["endDate"] == "2025-03-02T10:00:00.123999+00:00"


def test_submission_filters_go_to_tally(staff_client, tally, connection):
    route = tally.get(f"/forms/{FORM_ID}/submissions").respond(json=submissions_page())
    response = staff_client.get(
        url("form_submissions", connection),
        {"status": "partial", "start": "2025-03-01", "end": "2025-03-31"},
    )
    assert response.status_code == 200
    params = route.calls.last.request.url.params
    assert (params["filter"], params["startDate"], params["endDate"]) == (
        "partial",
        "2025-03-01",
        "2025-03-31",
    )
    assert "No submissions match." in response.content.decode()


def test_invalid_filters_fall_back_to_defaults(staff_client, tally, connection):
    route = tally.get(f"/forms/{FORM_ID}/submissions").respond(json=submissions_page())
    response = staff_client.get(
        url("form_submissions", connection), {"status": "bogus", "start": "not-a-date"}
    )
    assert response.status_code == 200
    assert route.calls.last.request.url.params["filter"] == "all"
    assert "startDate" not in route.calls.last.request.url.params


def test_a_rate_limited_tally_shows_the_last_copy_with_a_notice(staff_client, tally, connection):
    route = tally.get(f"/forms/{FORM_ID}/submissions")
    route.side_effect = [
        httpx.Response(200, json=submissions_page(submission("s1"))),
        httpx.Response(429, json={"message": "Too many requests"}),
    ]
    staff_client.get(url("form_submissions", connection))
    response = staff_client.get(url("form_submissions", connection), {"refresh": "1"}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Tally is rate-limiting us; showing data from" in html
    assert 'id="submission-s1"' in html


def test_tally_down_with_no_copy_is_a_message_not_an_error_page(staff_client, tally, connection):
    tally.get(f"/forms/{FORM_ID}/submissions").respond(503)
    response = staff_client.get(url("form_submissions", connection))
    assert response.status_code == 200
    assert "Tally is not answering (HTTP 503)" in response.content.decode()


def test_a_submission_shows_resolved_answers_and_raw_json(staff_client, tally, connection):
    body = submission("s1", size=0, color="Red", news=["Weekly"])
    tally.get(f"/forms/{FORM_ID}/submissions/s1").respond(
        json={"questions": QUESTIONS, "submission": body}
    )
    html = staff_client.get(url("submission", connection, "s1")).content.decode()
    answers = html[html.index('id="answers"') : html.index("Raw JSON")]
    assert "Red" in answers and "Weekly" in answers and "Monthly" not in answers
    assert ">0<" in answers.replace("\n", "").replace(" ", "")  # 0 is an answer
    assert "question_qColor" in answers
    assert "&quot;responses&quot;" in html


def test_an_unknown_submission_is_404(staff_client, tally, connection):
    tally.get(f"/forms/{FORM_ID}/submissions/zz").respond(404, json={"message": "not found"})
    assert staff_client.get(url("submission", connection, "zz")).status_code == 404


# --- analytics -----------------------------------------------------------------------------


def mock_analytics(tally, bodies):
    for metric, body in bodies.items():
        tally.get(f"/forms/{FORM_ID}/analytics/{metric}").respond(json=body)


def test_analytics_show_cards_charts_with_tables_and_every_period(staff_client, tally, connection):
    mock_analytics(tally, ANALYTICS)
    html = staff_client.get(url("form_analytics", connection), {"period": "7d"}).content.decode()
    for text in ("Visits", "Completion rate", "25.0%", "3m 12s", "Company name", "Desktop"):
        assert text in html
    for chart in ("chart-visits", "chart-submissions", "chart-drop-off"):
        assert f'<canvas id="{chart}"' in html
        assert f'id="{chart}-data"' in html
    assert html.count("<details") >= 3
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    for period in ("today", "yesterday", "24h", "7d", "30d", "3m", "6m", "12m", "all"):
        assert f'href="?period={period}"' in html


def test_analytics_show_rates_computed_from_the_counts(staff_client, tally, connection):
    metrics = {"visits": 120, "submissions": 30, "completionRate": 0.5}
    drop_off = {
        "data": [
            {"title": "Company name", "views": 80, "answers": 60, "drops": 20, "dropRate": 0},
            {"title": "Team size", "views": 0, "answers": 0, "drops": 0, "dropRate": 0},
        ]
    }
    mock_analytics(tally, {**ANALYTICS, "metrics": metrics, "drop-off": drop_off})
    html = staff_client.get(url("form_analytics", connection), {"period": "7d"}).content.decode()
    assert "25.0%" in html and "submissions ÷ visits" in html
    assert "0.5%" not in html and "0.0%" not in html
    rows = html.split("<tbody>", 1)[1]
    assert '<td class="num">—</td></tr>' in rows.split("Team size", 1)[1]


def test_unknown_analytics_shapes_and_a_null_drop_off_never_break_the_page(
    staff_client, tally, connection
):
    mock_analytics(
        tally,
        {
            "metrics": "??",
            "visits": [1, 2],
            "submissions": {"x": "y"},
            "dimensions": [],
            "drop-off": None,
        },
    )
    response = staff_client.get(url("form_analytics", connection), {"period": "bogus"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "does not recognise" in html
    assert "no drop-off data" in html
    assert "<canvas" not in html


def kickoff_delivery(connection, *, submission_id="s1", status="succeeded"):
    """A mapping of FORM_ID and one delivery of a submission through it."""
    from integrations.models import Delivery, Mapping, MappingVersion, Submission
    from tests.factories import TallyfyConnectionFactory

    mapping = Mapping.objects.create(
        name="Intake → Onboarding",
        tally_connection=connection,
        form_id=FORM_ID,
        tallyfy_connection=TallyfyConnectionFactory(),
        template_id="t1",
        status=Mapping.Status.ENABLED,
    )
    version = MappingVersion.objects.create(mapping=mapping, number=1, name_template="x")
    mapping.current_version = version
    mapping.save()
    sub = Submission.objects.create(
        form_id=FORM_ID, submission_id=submission_id, raw_body=b"{}", event_id="e1"
    )
    return Delivery.objects.create(
        submission=sub,
        mapping=mapping,
        mapping_version=version,
        status=status,
        attempt_count=1,
        run_url="https://go.tallyfy.test/org/processes/run1",
    )


def test_the_list_shows_each_forms_mapping(staff_client, tally, connection):
    kickoff_delivery(connection)
    tally.get("/forms").respond(json=forms_page(form_summary(FORM_ID, "Intake")))
    html = staff_client.get(reverse("dashboard:forms")).content.decode()
    row = html[html.index(f'id="form-{FORM_ID}"') :]
    assert "Enabled" in row[: row.index("</tr>")]


def test_a_submission_shows_what_kickoff_did_with_it(staff_client, tally, connection):
    kickoff_delivery(connection, submission_id="s1")
    tally.get(f"/forms/{FORM_ID}/submissions/s1").respond(
        json={"questions": QUESTIONS, "submission": submission("s1")}
    )
    html = staff_client.get(url("submission", connection, "s1")).content.decode()
    done = html[html.index('id="kickoff-deliveries"') : html.index('id="answers"')]
    assert "Intake → Onboarding" in done and "Succeeded" in done
    assert "https://go.tallyfy.test/org/processes/run1" in done


def test_analytics_adds_kickoffs_own_delivery_counts(staff_client, tally, connection):
    kickoff_delivery(connection, status="failed")
    mock_analytics(tally, ANALYTICS)
    html = staff_client.get(url("form_analytics", connection) + "?period=7d").content.decode()
    card = html[html.index('id="kickoff-outcomes"') :]
    card = card[: card.index("</section>")]
    assert '<span class="badge bad">1</span>' in card


def test_the_chosen_period_is_what_tally_is_asked_for_and_what_kickoff_counts(
    staff_client, tally, connection
):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import Delivery

    ten_days_ago = kickoff_delivery(connection, status="failed")
    Delivery.objects.filter(pk=ten_days_ago.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    mock_analytics(tally, ANALYTICS)

    def shown(period):
        before = len(tally.calls)
        html = staff_client.get(url("form_analytics", connection), {"period": period})
        asked = [
            c.request.url.params.get("period")
            for c in list(tally.calls)[before:]
            if "/analytics/" in c.request.url.path
        ]
        html = html.content.decode()
        outcomes = html[html.index('id="kickoff-outcomes"') :]
        return asked, outcomes[: outcomes.index("</section>")], html

    asked, outcomes, html = shown("7d")
    assert asked == ["7d"] * 5  # every analytics metric, for the chosen period
    assert 'aria-current="true">Last 7 days</a>' in html
    assert "no submission of this form in this period" in outcomes

    asked, outcomes, html = shown("30d")
    assert asked == ["30d"] * 5
    assert 'aria-current="true">Last 30 days</a>' in html
    assert '<span class="badge bad">1</span>' in outcomes
