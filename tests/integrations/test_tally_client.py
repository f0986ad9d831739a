"""TallyClient against Tally's documented shapes (docs/vendor-notes.md), faked with respx."""

import json
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from integrations.http import (
    NON_FIELD_ERRORS,
    Forbidden,
    Invalid,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from integrations.ratelimit import NoThrottle, Throttle
from integrations.tally.client import TallyClient

BASE = "https://api.tally.test"
TOKEN = "tly-abcdef0123456789"


@pytest.fixture
def tally():
    return TallyClient(TOKEN, account_key="conn-7", base_url=BASE, throttle=NoThrottle())


@pytest.fixture
def router():
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def submission(sid, responses, **extra):
    return {
        "id": sid,
        "formId": "wA1",
        "respondentId": "r1",
        "isCompleted": True,
        "submittedAt": "2025-03-01T10:00:00.000Z",
        "responses": responses,
        **extra,
    }


def webhook(wid, **extra):
    return {
        "id": wid,
        "formId": "wA1",
        "url": "https://kickoff.test/hooks/tally/k/",
        "signingSecret": "whsec-should-not-show",
        "isEnabled": True,
        "eventTypes": ["FORM_RESPONSE"],
        "createdAt": "2025-03-01T10:00:00Z",
        **extra,
    }


# --- headers ---------------------------------------------------------------------------

CALLS = [
    ("GET", "/users/me", {"id": "u1"}, lambda c: c.get_me()),
    ("GET", "/forms", {"items": [], "hasMore": False}, lambda c: c.list_forms()),
    ("GET", "/forms/wA1", {"id": "wA1", "name": "F"}, lambda c: c.get_form("wA1")),
    ("GET", "/forms/wA1/questions", {"questions": []}, lambda c: c.get_questions("wA1")),
    (
        "GET",
        "/forms/wA1/submissions",
        {"submissions": [], "hasMore": False},
        lambda c: c.list_submissions("wA1"),
    ),
    (
        "GET",
        "/forms/wA1/submissions/s1",
        {"questions": [], "submission": submission("s1", [])},
        lambda c: c.get_submission("wA1", "s1"),
    ),
    (
        "GET",
        "/forms/wA1/analytics/metrics",
        {"visits": 3},
        lambda c: c.get_analytics("wA1", "metrics", "7d"),
    ),
    ("GET", "/webhooks", {"webhooks": [], "hasMore": False}, lambda c: c.list_webhooks()),
    ("POST", "/webhooks", webhook("wh1"), lambda c: c.create_webhook("wA1", "https://x", "s")),
    (
        "PATCH",
        "/webhooks/wh1",
        None,
        lambda c: c.update_webhook(
            "wh1", form_id="wA1", url="https://x", event_types=["FORM_RESPONSE"], is_enabled=True
        ),
    ),
    ("DELETE", "/webhooks/wh1", None, lambda c: c.delete_webhook("wh1")),
    (
        "GET",
        "/webhooks/wh1/events",
        {"events": [], "hasMore": False},
        lambda c: c.list_webhook_events("wh1"),
    ),
    ("POST", "/webhooks/wh1/events/ev1", None, lambda c: c.redeliver_event("wh1", "ev1")),
]


@pytest.mark.parametrize(("method", "path", "body", "call"), CALLS, ids=[c[1] for c in CALLS])
def test_every_call_sends_the_bearer_token_version_and_accept_headers(
    tally, router, method, path, body, call
):
    route = router.route(method=method, path=path).respond(
        200 if body is not None else 204, json=body
    )
    call(tally)
    assert route.call_count == 1
    headers = route.calls.last.request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["tally-version"] == "2025-02-01"
    assert headers["Accept"] == "application/json"


def test_it_uses_the_settings_base_url_by_default(settings):
    client = TallyClient(TOKEN, account_key="c", throttle=NoThrottle())
    with respx.mock(base_url=settings.TALLY_API_BASE_URL) as mock:
        route = mock.get("/users/me").respond(200, json={"id": "u1"})
        client.get_me()
    assert route.called


def test_its_repr_names_the_account_not_the_token(tally):
    assert TOKEN not in repr(tally)
    assert "conn-7" in repr(tally)


# --- user and forms --------------------------------------------------------------------


def test_it_reads_the_current_user(tally, router):
    router.get("/users/me").respond(
        200,
        json={
            "id": "u1",
            "firstName": "Ada",
            "lastName": "L",
            "fullName": "Ada L",
            "email": "ada@example.com",
            "organizationId": "org9",
            "subscriptionPlan": "PRO",
        },
    )
    me = tally.get_me()
    assert (me.id, me.email, me.full_name, me.organization_id) == (
        "u1",
        "ada@example.com",
        "Ada L",
        "org9",
    )
    assert me.subscription_plan == "PRO"


def test_it_pages_through_forms_under_items(tally, router):
    def forms(request):
        page = int(request.url.params["page"])
        items = [{"id": f"f{page}", "name": f"Form {page}", "numberOfSubmissions": page}]
        return httpx.Response(
            200, json={"items": items, "page": page, "limit": 50, "total": 2, "hasMore": page < 2}
        )

    route = router.get("/forms").mock(side_effect=forms)
    assert [f.id for f in tally.iter_forms()] == ["f1", "f2"]
    # `limit` is documented for submissions only; forms come at Tally's default size.
    assert ["limit" in c.request.url.params for c in route.calls] == [False, False]


def test_it_pages_forms_by_total_when_tally_leaves_out_has_more(tally, router):
    def forms(request):
        page = int(request.url.params["page"])
        items = [{"id": f"f{page}-{i}", "name": "Form"} for i in range(50 if page < 3 else 7)]
        return httpx.Response(200, json={"items": items, "page": page, "limit": 50, "total": 107})

    router.get("/forms").mock(side_effect=forms)
    assert len(list(tally.iter_forms())) == 107


def test_a_forms_page_carries_totals_and_parsed_fields(tally, router):
    router.get("/forms").respond(
        200,
        json={
            "items": [
                {
                    "id": "wA1",
                    "name": "Onboarding",
                    "workspaceId": "ws1",
                    "status": "PUBLISHED",
                    "numberOfSubmissions": 12,
                    "isClosed": False,
                    "createdAt": "2025-01-02T03:04:05.000Z",
                    "updatedAt": "2025-01-03T03:04:05Z",
                }
            ],
            "page": 1,
            "limit": 50,
            "total": 1,
            "hasMore": False,
        },
    )
    page = tally.list_forms(page=1)
    assert page.total == 1 and page.has_more is False and page.page == 1
    form = page.items[0]
    assert form.number_of_submissions == 12 and form.workspace_id == "ws1"
    assert form.created_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_it_caps_the_submissions_page_size_at_tallys_maximum(tally, router):
    route = router.get("/forms/wA1/submissions").respond(
        200, json={"submissions": [], "hasMore": False}
    )
    tally.list_submissions("wA1", limit=10_000)
    assert route.calls.last.request.url.params["limit"] == "500"


def test_it_reads_a_form_with_blocks(tally, router):
    router.get("/forms/wA1").respond(
        200,
        json={
            "id": "wA1",
            "name": "Onboarding",
            "status": "PUBLISHED",
            "blocks": [{"uuid": "b1", "type": "INPUT_TEXT", "groupUuid": "g1", "payload": {}}],
            "settings": {"language": "en"},
        },
    )
    form = tally.get_form("wA1")
    assert form.blocks[0]["uuid"] == "b1"
    assert form.settings == {"language": "en"}


def test_it_reads_questions_with_their_fields(tally, router):
    router.get("/forms/wA1/questions").respond(
        200,
        json={
            "questions": [
                {
                    "id": "q1",
                    "type": "INPUT_TEXT",
                    "title": "Company",
                    "fields": [
                        {"uuid": "f1", "type": "INPUT_TEXT", "blockGroupUuid": "g1", "title": "C"}
                    ],
                }
            ],
            "hasResponses": True,
        },
    )
    [question] = tally.get_questions("wA1")
    assert question.title == "Company"
    assert question.fields[0].block_group_uuid == "g1"


# --- submissions -----------------------------------------------------------------------


def test_it_accepts_answers_under_answer_or_value_and_keeps_falsy_ones(tally, router):
    router.get("/forms/wA1/submissions").respond(
        200,
        json={
            "page": 1,
            "limit": 50,
            "hasMore": False,
            "totalNumberOfSubmissionsPerFilter": {"all": 1, "completed": 1, "partial": 0},
            "questions": [{"id": "q1", "type": "INPUT_TEXT", "title": "Company"}],
            "submissions": [
                submission(
                    "s1",
                    [
                        {"id": "r1", "questionId": "q1", "answer": "Acme"},
                        {"id": "r2", "questionId": "q2", "value": "Beta"},
                        {"id": "r3", "questionId": "q3", "answer": False},
                        {"id": "r4", "questionId": "q4", "value": 0},
                        {"id": "r5", "questionId": "q5", "answer": None, "value": "ignored"},
                    ],
                )
            ],
        },
    )
    page = tally.list_submissions("wA1")
    answers = {r.question_id: r.answer for r in page.items[0].responses}
    assert answers == {"q1": "Acme", "q2": "Beta", "q3": False, "q4": 0, "q5": None}
    assert page.totals == {"all": 1, "completed": 1, "partial": 0}
    assert page.total == 1
    assert page.questions[0].title == "Company"


def test_it_sends_submission_filters_as_tally_names_them(tally, router):
    route = router.get("/forms/wA1/submissions").respond(
        200, json={"submissions": [], "hasMore": False}
    )
    tally.list_submissions(
        "wA1",
        page=2,
        limit=100,
        filter="completed",
        start_date=date(2025, 1, 1),
        end_date="2025-02-01T00:00:00Z",
        after_id="s9",
    )
    assert dict(route.calls.last.request.url.params) == {
        "page": "2",
        "limit": "100",
        "filter": "completed",
        "startDate": "2025-01-01",
        "endDate": "2025-02-01T00:00:00Z",
        "afterId": "s9",
    }


def test_it_rejects_an_unknown_submission_filter(tally):
    with pytest.raises(ValueError):
        tally.list_submissions("wA1", filter="everything")


def test_it_pages_through_submissions_under_submissions(tally, router):
    def page_of(request):
        page = int(request.url.params["page"])
        return httpx.Response(
            200,
            json={"page": page, "hasMore": page < 3, "submissions": [submission(f"s{page}", [])]},
        )

    route = router.get("/forms/wA1/submissions").mock(side_effect=page_of)
    ids = [s.id for s in tally.iter_submissions("wA1", after_id="s0")]
    assert ids == ["s1", "s2", "s3"]
    assert all(c.request.url.params["afterId"] == "s0" for c in route.calls)


def test_it_reads_one_submission_with_formatted_answers_and_links(tally, router):
    router.get("/forms/wA1/submissions/s1").respond(
        200,
        json={
            "questions": [{"id": "q1", "type": "MULTIPLE_CHOICE", "title": "Plan"}],
            "submission": submission(
                "s1",
                [{"questionId": "q1", "answer": ["opt-1"], "formattedAnswer": "Pro"}],
                previewUrl="https://tally.so/preview/s1",
                pdfUrl="https://tally.so/pdf/s1",
            ),
        },
    )
    detail = tally.get_submission("wA1", "s1")
    response = detail.submission.responses[0]
    assert response.answer == ["opt-1"] and response.formatted_answer == "Pro"
    assert detail.submission.pdf_url == "https://tally.so/pdf/s1"
    assert detail.questions[0].title == "Plan"


# --- analytics -------------------------------------------------------------------------


def test_it_reads_the_metrics_counters(tally, router):
    route = router.get("/forms/wA1/analytics/metrics").respond(
        200, json={"visits": 10, "submissions": 4, "completionRate": 0.4, "note": "x"}
    )
    result = tally.get_analytics("wA1", "metrics", "30d")
    assert result.totals == {"visits": 10, "submissions": 4, "completionRate": 0.4}
    assert route.calls.last.request.url.params["period"] == "30d"


def test_a_null_drop_off_body_means_no_data_yet(tally, router):
    router.get("/forms/wA1/analytics/drop-off").respond(200, content=b"null")
    result = tally.get_analytics("wA1", "drop-off", "7d")
    assert result.available is False
    assert result.rows == [] and result.totals == {}


def test_it_reads_drop_off_rows_and_stats(tally, router):
    router.get("/forms/wA1/analytics/drop-off").respond(
        200,
        json={
            "stats": {"views": 10, "drops": 2},
            "dataAvailableSince": "2024-12-01",
            "data": [{"blockGroupUuid": "g1", "title": "Company", "dropRate": 0.2}],
            "hasConditionalLogic": False,
        },
    )
    result = tally.get_analytics("wA1", "drop-off", "all")
    assert result.available
    assert result.totals == {"views": 10, "drops": 2}
    assert result.rows[0]["title"] == "Company"
    assert result.has_conditional_logic is False
    assert result.data_available_since == "2024-12-01"


def test_it_reads_visits_bucketed_by_date_with_total_visits(tally, router):
    router.get("/forms/wA1/analytics/visits").respond(
        200,
        json={
            "data": {"2025-03-01": {"totalVisits": 5}, "2025-03-02": {"totalVisits": 7}},
            "interval": "day",
        },
    )
    result = tally.get_analytics("wA1", "visits", "7d")
    assert [(b.key, b.values) for b in result.series] == [
        ("2025-03-01", {"totalVisits": 5}),
        ("2025-03-02", {"totalVisits": 7}),
    ]
    assert result.interval == "day"


def test_it_reads_submissions_bucketed_as_completed_and_partial(tally, router):
    router.get("/forms/wA1/analytics/submissions").respond(
        200, json={"data": {"2025-03": {"completed": 3, "partial": 1}}, "interval": "month"}
    )
    result = tally.get_analytics("wA1", "submissions", "12m")
    assert result.series[0].values == {"completed": 3, "partial": 1}


def test_it_reads_a_list_shaped_time_series_too(tally, router):
    router.get("/forms/wA1/analytics/visits").respond(
        200, json={"data": [{"date": "2025-03-01", "count": 2}, {"count": 3}, "junk"]}
    )
    result = tally.get_analytics("wA1", "visits", "7d")
    assert [(b.key, b.values) for b in result.series] == [
        ("2025-03-01", {"count": 2}),
        ("1", {"count": 3}),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b'"unexpected"',
        b"[1, 2, 3]",
        b'{"data": "soon"}',
        b'{"data": {"2025-03-01": "n/a", "2025-03-02": 4}}',
        b"{}",
    ],
)
@pytest.mark.parametrize("metric", ["metrics", "visits", "submissions", "dimensions", "drop-off"])
def test_odd_analytics_shapes_never_crash_and_stay_available_raw(tally, router, metric, body):
    router.get(f"/forms/wA1/analytics/{metric}").respond(200, content=body)
    result = tally.get_analytics("wA1", metric, "24h")
    assert result.raw == json.loads(body)


def test_it_keeps_dimensions_rows(tally, router):
    router.get("/forms/wA1/analytics/dimensions").respond(
        200, json={"data": [{"dimension": "country", "value": "BE", "visits": 3}]}
    )
    assert tally.get_analytics("wA1", "dimensions", "30d").rows[0]["value"] == "BE"


def test_it_rejects_an_unknown_metric_or_period_before_calling(tally, router):
    with pytest.raises(ValueError):
        tally.get_analytics("wA1", "heatmap", "7d")
    with pytest.raises(ValueError):
        tally.get_analytics("wA1", "metrics", "2w")


# --- webhooks --------------------------------------------------------------------------


def test_it_pages_through_webhooks_under_webhooks(tally, router):
    def page_of(request):
        page = int(request.url.params["page"])
        return httpx.Response(
            200,
            json={
                "webhooks": [webhook(f"wh{page}")],
                "page": page,
                "limit": 1,
                "hasMore": page == 1,
                "totalCount": 2,
            },
        )

    router.get("/webhooks").mock(side_effect=page_of)
    hooks = list(tally.iter_webhooks())
    assert [h.id for h in hooks] == ["wh1", "wh2"]
    assert hooks[0].signing_secret == "whsec-should-not-show"
    assert "whsec-should-not-show" not in repr(hooks[0])


def test_a_webhooks_page_reports_the_total_count(tally, router):
    router.get("/webhooks").respond(
        200, json={"webhooks": [webhook("wh1")], "hasMore": False, "totalCount": 1}
    )
    assert tally.list_webhooks().total == 1


def test_it_creates_a_form_response_webhook_with_secret_and_headers(tally, router):
    route = router.post("/webhooks").respond(201, json=webhook("wh1"))
    created = tally.create_webhook(
        "wA1",
        "https://kickoff.test/hooks/tally/k/",
        "s3cret",
        http_headers={"X-Kickoff": "1"},
        external_subscriber="kickoff",
    )
    assert created.id == "wh1"
    assert json.loads(route.calls.last.request.content) == {
        "formId": "wA1",
        "url": "https://kickoff.test/hooks/tally/k/",
        "eventTypes": ["FORM_RESPONSE"],
        "signingSecret": "s3cret",
        "httpHeaders": [{"name": "X-Kickoff", "value": "1"}],
        "externalSubscriber": "kickoff",
    }


def test_it_creates_a_webhook_without_optional_fields(tally, router):
    route = router.post("/webhooks").respond(201, json=webhook("wh1"))
    tally.create_webhook("wA1", "https://x.test/", None)
    assert set(json.loads(route.calls.last.request.content)) == {"formId", "url", "eventTypes"}


def test_updating_a_webhook_patches_all_four_fields_every_time(tally, router):
    route = router.patch("/webhooks/wh1").respond(200, json=webhook("wh1", isEnabled=False))
    updated = tally.update_webhook(
        "wh1", form_id="wA1", url="https://x.test/", event_types=["FORM_RESPONSE"], is_enabled=False
    )
    assert json.loads(route.calls.last.request.content) == {
        "formId": "wA1",
        "url": "https://x.test/",
        "eventTypes": ["FORM_RESPONSE"],
        "isEnabled": False,
    }
    assert updated is not None and updated.is_enabled is False


def test_an_empty_patch_answer_is_fine(tally, router):
    router.patch("/webhooks/wh1").respond(204)
    result = tally.update_webhook(
        "wh1", form_id="wA1", url="https://x.test/", event_types=["FORM_RESPONSE"], is_enabled=True
    )
    assert result is None


def test_it_deletes_a_webhook(tally, router):
    route = router.delete("/webhooks/wh1").respond(204)
    tally.delete_webhook("wh1")
    assert route.called


def test_it_pages_through_the_delivery_log_under_events(tally, router):
    def page_of(request):
        page = int(request.url.params["page"])
        event = {
            "id": f"ev{page}",
            "webhookId": "wh1",
            "eventType": "FORM_RESPONSE",
            "deliveryStatus": "FAILED" if page == 1 else "SUCCEEDED",
            "statusCode": "500" if page == 1 else 200,
            "response": "boom",
            "retry": 2,
            "payload": {"eventId": f"e{page}"},
            "createdAt": "2025-03-01T10:00:00Z",
        }
        return httpx.Response(
            200,
            json={"events": [event], "page": page, "hasMore": page < 2, "totalNumberOfEvents": 2},
        )

    router.get("/webhooks/wh1/events").mock(side_effect=page_of)
    events = list(tally.iter_webhook_events("wh1"))
    assert [(e.id, e.delivery_status, e.status_code) for e in events] == [
        ("ev1", "FAILED", 500),
        ("ev2", "SUCCEEDED", 200),
    ]
    assert events[0].payload == {"eventId": "e1"}


def test_redelivery_posts_to_the_event_without_a_retry_suffix(tally, router):
    route = router.post("/webhooks/wh1/events/ev1").respond(204)
    retry_route = router.post("/webhooks/wh1/events/ev1/retry").respond(404)
    tally.redeliver_event("wh1", "ev1")
    assert route.call_count == 1
    assert not retry_route.called
    assert route.calls.last.request.url.path == "/webhooks/wh1/events/ev1"


# --- errors ----------------------------------------------------------------------------


def test_it_raises_unauthorized_for_a_json_401(tally, router):
    router.get("/users/me").respond(401, json={"message": "Invalid token", "errorType": "AUTH"})
    with pytest.raises(Unauthorized) as caught:
        tally.get_me()
    assert caught.value.message == "Invalid token"
    assert caught.value.retryable is False


def test_it_raises_unauthorized_for_a_plain_text_401(tally, router):
    router.get("/users/me").respond(401, text="Unauthorized")
    with pytest.raises(Unauthorized) as caught:
        tally.get_me()
    assert caught.value.message == "Unauthorized"
    assert caught.value.status == 401


def test_it_raises_forbidden_when_a_scope_is_missing(tally, router):
    router.get("/webhooks").respond(403, json={"message": "Missing scope: webhooks"})
    with pytest.raises(Forbidden) as caught:
        tally.list_webhooks()
    assert "webhooks" in caught.value.message and not caught.value.retryable


def test_it_raises_not_found_for_an_unknown_form(tally, router):
    router.get("/forms/nope").respond(404, json={"message": "Form not found"})
    with pytest.raises(NotFound):
        tally.get_form("nope")


def test_it_raises_invalid_with_field_errors_from_tallys_errors_list(tally, router):
    router.post("/webhooks").respond(
        400,
        json={
            "message": "Invalid request",
            "errorType": "VALIDATION_ERROR",
            "errors": [{"path": ["url"], "message": "Must be https"}, "Bad input"],
        },
    )
    with pytest.raises(Invalid) as caught:
        tally.create_webhook("wA1", "http://x", None)
    assert caught.value.field_errors == {"url": ["Must be https"], NON_FIELD_ERRORS: ["Bad input"]}
    assert caught.value.retryable is False


def test_it_raises_rate_limited_with_retry_after_seconds(tally, router):
    router.get("/forms").respond(429, headers={"Retry-After": "42"}, text="Too Many Requests")
    with pytest.raises(RateLimited) as caught:
        tally.list_forms()
    assert caught.value.retry_after == 42.0
    assert caught.value.retryable


def test_it_raises_rate_limited_with_retry_after_as_an_http_date(tally, router):
    when = datetime.now(UTC) + timedelta(seconds=120)
    router.get("/forms").respond(429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(RateLimited) as caught:
        tally.list_forms()
    assert 100 < caught.value.retry_after <= 120


def test_it_raises_rate_limited_without_retry_after_when_tally_gives_none(tally, router):
    router.get("/forms").respond(429)
    with pytest.raises(RateLimited) as caught:
        tally.list_forms()
    assert caught.value.retry_after is None


def test_it_raises_unavailable_for_a_500(tally, router):
    router.get("/forms").respond(500, json={"message": "Internal error"})
    with pytest.raises(Unavailable) as caught:
        tally.list_forms()
    assert caught.value.retryable and caught.value.message == "Internal error"


def test_it_raises_unavailable_for_a_502_html_page(tally, router):
    router.get("/forms").respond(
        502, html="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    )
    with pytest.raises(Unavailable) as caught:
        tally.list_forms()
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.message == "502 Bad Gateway"


def test_a_connect_error_is_unavailable_not_an_unknown_outcome(tally, router):
    router.post("/webhooks").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(Unavailable) as caught:
        tally.create_webhook("wA1", "https://x", "s")
    assert not isinstance(caught.value, OutcomeUnknown)


def test_a_read_timeout_on_webhook_creation_is_an_unknown_outcome(tally, router):
    router.post("/webhooks").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        tally.create_webhook("wA1", "https://x", "s")


def test_a_success_missing_the_object_id_is_an_unknown_outcome(tally, router):
    router.post("/webhooks").respond(201, json={"ok": True})
    with pytest.raises(OutcomeUnknown):
        tally.create_webhook("wA1", "https://x", "s")


def test_the_token_never_appears_in_an_error(tally, router):
    router.get("/users/me").respond(401, text=f"Unauthorized: {TOKEN}")
    with pytest.raises(Unauthorized) as caught:
        tally.get_me()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
    assert TOKEN not in caught.value.body


# --- throttle --------------------------------------------------------------------------


def test_it_throttles_per_tally_connection(settings, router):
    settings.TALLY_RATE_LIMIT = "2/second"
    throttle = Throttle("memory://", max_wait=0)
    route = router.get("/users/me").respond(200, json={"id": "u1"})
    first = TallyClient(TOKEN, account_key="conn-1", base_url=BASE, throttle=throttle)
    other = TallyClient(TOKEN, account_key="conn-2", base_url=BASE, throttle=throttle)
    first.get_me()
    first.get_me()
    other.get_me()
    with pytest.raises(RateLimited):
        first.get_me()
    assert route.call_count == 3  # the refused call never reached Tally
