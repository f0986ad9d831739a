"""The analytics tab's cards, charts and tables, built from Tally's answers (faked at the
HTTP boundary), including the shapes Tally's docs leave open."""

import pytest
import respx
from django.core.cache import cache

from dashboard.tally_forms.analytics import UNKNOWN_SHAPE, analytics_report
from integrations.models import Connection
from integrations.selectors.tally import tally_analytics
from tests.factories import ConnectionFactory
from tests.integrations.selectors.test_tally import ANALYTICS, FORM_ID


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
        auth_kind=Connection.AuthKind.API_KEY, refresh_token="", expires_at=None
    )


def mock_analytics(tally, bodies):
    for metric, body in bodies.items():
        tally.get(f"/forms/{FORM_ID}/analytics/{metric}").respond(json=body)


def test_analytics_become_cards_charts_and_tables(tally, connection):
    mock_analytics(tally, ANALYTICS)
    fetched = tally_analytics(connection, FORM_ID, period="7d")
    report = analytics_report("7d", fetched)
    cards = {c.label: c.value for c in report.cards}
    assert cards == {
        "Visits": "200",
        "Starts": "80",
        "Submissions": "50",
        "Completion rate": "25.0%",
        "Avg. completion time": "3m 12s",
    }
    assert report.visits.labels == ["2025-03-01", "2025-03-02"]
    assert report.visits.series == [("Visits", [12, 7])]
    assert report.submissions.series == [("Completed", [3, 2]), ("Partial", [1, 0])]
    assert [(r.title, r.drop_rate) for r in report.drop_off_rows] == [
        ("Company name", 25.0),
        ("Team size", pytest.approx(16.67, 0.01)),
    ]
    assert [(b.name, b.rows) for b in report.breakdowns] == [
        ("Sources", [("newsletter", 9, 3)]),
        ("Devices", [("Desktop", 12, 4)]),
        ("Countries", [("Belgium", 5, 2)]),
    ]
    assert tally.calls.call_count == 5
    assert all(c.request.url.params["period"] == "7d" for c in tally.calls)


def test_a_null_drop_off_body_says_there_is_no_data_yet(tally, connection):
    mock_analytics(tally, {**ANALYTICS, "drop-off": None})
    report = analytics_report("30d", tally_analytics(connection, FORM_ID))
    assert report.drop_off_rows == []
    assert not report.drop_off.drawable
    assert "no drop-off data" in report.drop_off_message
    assert report.visits.drawable  # the rest still shows


def test_unknown_analytics_shapes_degrade_to_messages(tally, connection):
    mock_analytics(
        tally,
        {
            "metrics": ["not", "an", "object"],
            "visits": {"data": {"2025-03-01": {"colour": "blue"}}},
            "submissions": {"buckets": "weekly"},
            "dimensions": {"sources": "many"},
            "drop-off": {"data": "soon"},
        },
    )
    report = analytics_report("30d", tally_analytics(connection, FORM_ID))
    assert report.cards == [] and report.cards_message == UNKNOWN_SHAPE
    assert report.visits.message == UNKNOWN_SHAPE and not report.visits.drawable
    assert report.submissions.message == UNKNOWN_SHAPE
    assert report.drop_off_message == UNKNOWN_SHAPE
    assert report.breakdowns[0].message == UNKNOWN_SHAPE
    assert report.breakdowns[1].message == UNKNOWN_SHAPE  # no "devices" key at all


def test_visits_as_a_list_of_dated_points_are_understood(tally, connection):
    mock_analytics(
        tally,
        {
            **ANALYTICS,
            "metrics": {"data": {"visits": 200, "submissions": 50, "completionRate": 0.25}},
            "visits": {"data": [{"date": "2025-03-01", "visits": 4}], "interval": "day"},
        },
    )
    report = analytics_report("30d", tally_analytics(connection, FORM_ID))
    assert {c.label: c.value for c in report.cards}["Completion rate"] == "25.0%"
    assert report.visits.series == [("Visits", [4])]


def test_one_failing_analytics_endpoint_only_blanks_its_own_part(tally, connection):
    mock_analytics(tally, {k: v for k, v in ANALYTICS.items() if k != "visits"})
    tally.get(f"/forms/{FORM_ID}/analytics/visits").respond(429)
    report = analytics_report("30d", tally_analytics(connection, FORM_ID))
    assert report.errors and report.errors[0].startswith("Tally is rate-limiting us")
    assert not report.visits.drawable
    assert report.submissions.drawable and report.cards


def test_rates_are_computed_from_the_counts_never_taken_as_tally_gives_them(tally, connection):
    # docs/vendor-notes.md: completionRate/dropRate may be fractions or percents.
    metrics = {"visits": 120, "submissions": 30, "starts": 40, "completionRate": 0.5}
    drop_off = {
        "stats": {},
        "data": [
            {"title": "Company name", "views": 80, "answers": 60, "drops": 20, "dropRate": 0.0},
            {"title": "Team size", "views": 0, "answers": 0, "drops": 0, "dropRate": 0.0},
            {"title": "Budget", "views": 40, "answers": 40, "dropRate": 0.0},
        ],
        "hasConditionalLogic": False,
    }
    mock_analytics(tally, {**ANALYTICS, "metrics": metrics, "drop-off": drop_off})
    report = analytics_report("30d", tally_analytics(connection, FORM_ID))
    rate = next(c for c in report.cards if c.label == "Completion rate")
    assert (rate.value, rate.hint) == ("25.0%", "submissions ÷ visits")
    assert [(r.title, r.drop_rate) for r in report.drop_off_rows] == [
        ("Company name", 25.0),
        ("Team size", None),  # no views: no rate, not 0 %
        ("Budget", None),  # no drops count
    ]


@pytest.mark.parametrize(
    "metrics",
    [
        {"visits": 0, "submissions": 0, "completionRate": 0},
        {"submissions": 30, "completionRate": 25.0},
        {"visits": 120, "completions": 30, "completionRate": 25.0},
    ],
    ids=["no-visits", "visits-missing", "submissions-missing"],
)
def test_a_completion_rate_without_both_counts_is_a_dash(tally, connection, metrics):
    mock_analytics(tally, {**ANALYTICS, "metrics": metrics})
    report = analytics_report("30d", tally_analytics(connection, FORM_ID))
    assert {c.label: c.value for c in report.cards}["Completion rate"] == "—"
