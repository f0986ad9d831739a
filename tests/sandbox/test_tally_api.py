"""The sandbox Tally REST API: shapes, auth, paging, filters, analytics, faults, rate limit."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import override_settings
from django.utils import timezone

from integrations.sandbox.tally import services
from integrations.sandbox.tally.catalog import (
    ALL_TYPES_FORM_ID,
    ONBOARDING_FORM_ID,
    OTHER_FORM_ID,
    SIGNOFF_FORM_ID,
    SUPPORT_FORM_ID,
)
from integrations.sandbox.tally.models import Form, Submission
from integrations.sandbox.tally.seed import submissions_bulk_create

from . import test_tally_support as support
from .test_tally_support import API, auth, control

# Shared fixtures (this package has no conftest of its own).
api = support.api
other_api = support.other_api
tally = support.tally

# --- Auth ----------------------------------------------------------------------------------


def test_it_answers_plain_text_unauthorized_without_an_authorization_header(client, tally):
    resp = client.get(API + "/users/me")
    assert resp.status_code == 401
    assert resp.content == b"Unauthorized"
    assert resp["Content-Type"].startswith("text/plain")


def test_it_answers_json_unauthorized_for_an_unknown_token(client, tally):
    resp = client.get(API + "/users/me", **auth("tly-not-a-key"))
    assert resp.status_code == 401
    assert resp.json() == {"message": "Unauthorized", "errorType": "UNAUTHORIZED"}


def test_it_returns_the_current_user_for_a_personal_api_key(api):
    resp = api.get("/users/me")
    assert resp.status_code == 200
    body = resp.json()
    for key in ("id", "firstName", "lastName", "fullName", "email", "organizationId"):
        assert body[key]
    assert body["fullName"] == "Dana Demo"
    assert body["subscriptionPlan"] == "PRO"


def test_it_accepts_requests_without_the_tally_version_header(client, tally):
    resp = client.get(API + "/users/me", HTTP_AUTHORIZATION="Bearer tly-sandbox-demo-key")
    assert resp.status_code == 200


def test_it_has_no_trailing_slash_on_api_paths(api):
    assert api.get("/forms/").status_code == 404


def test_it_rejects_a_wrong_method_with_405(api):
    assert api.delete("/forms").status_code == 405


# --- Forms ---------------------------------------------------------------------------------


def test_it_lists_only_the_callers_forms_with_paging_fields(api):
    body = api.get("/forms").json()
    assert set(body) == {"items", "page", "limit", "total", "hasMore"}
    ids = {f["id"] for f in body["items"]}
    assert ids == {ALL_TYPES_FORM_ID, ONBOARDING_FORM_ID, SUPPORT_FORM_ID, SIGNOFF_FORM_ID}
    item = next(f for f in body["items"] if f["id"] == ONBOARDING_FORM_ID)
    assert set(item) == {
        "id",
        "name",
        "workspaceId",
        "status",
        "numberOfSubmissions",
        "isClosed",
        "createdAt",
        "updatedAt",
    }
    assert item["numberOfSubmissions"] == 40
    assert item["createdAt"].endswith("Z")


def test_it_pages_forms_with_has_more(api):
    first = api.get("/forms", limit=2, page=1).json()
    second = api.get("/forms", limit=2, page=2).json()
    assert (first["hasMore"], len(first["items"]), first["total"]) == (True, 2, 4)
    assert (second["hasMore"], len(second["items"])) == (False, 2)


@pytest.mark.parametrize("path", ["/forms", f"/forms/{ONBOARDING_FORM_ID}/submissions"])
def test_it_refuses_a_limit_above_500_with_an_error_body(api, path):
    resp = api.get(path, limit=501)
    assert resp.status_code == 400
    body = resp.json()
    assert set(body) == {"message", "errorType", "errors"}
    assert body["errors"][0]["field"] == "limit"


def test_it_returns_a_form_with_blocks_and_settings(api):
    body = api.get(f"/forms/{ALL_TYPES_FORM_ID}").json()
    assert set(body) == {"id", "name", "status", "blocks", "settings"}
    assert body["name"] == "Webhook payload"
    for block in body["blocks"]:
        assert set(block) == {"uuid", "type", "groupUuid", "groupType", "payload"}
    checkbox_blocks = [b for b in body["blocks"] if b["type"] == "CHECKBOX"]
    assert [b["payload"]["text"] for b in checkbox_blocks] == ["Soccer", "Swimming", "Skiing"]
    assert checkbox_blocks[0]["uuid"] == "9bbb6bd7-1e3b-4e48-b4b9-a221d5aad87e"


def test_it_returns_the_questions_of_a_form(api):
    body = api.get(f"/forms/{ONBOARDING_FORM_ID}/questions").json()
    assert body["hasResponses"] is True
    plan = next(q for q in body["questions"] if q["title"] == "Plan")
    assert plan["type"] == "DROPDOWN"
    assert set(plan["fields"][0]) >= {"uuid", "type", "blockGroupUuid", "title"}


def test_it_hides_another_users_form_as_not_found(api, other_api):
    assert api.get(f"/forms/{OTHER_FORM_ID}").status_code == 404
    assert other_api.get(f"/forms/{ONBOARDING_FORM_ID}/submissions").status_code == 404
    assert other_api.get(f"/forms/{OTHER_FORM_ID}").status_code == 200


# --- Submissions ----------------------------------------------------------------------------


def test_it_lists_submissions_newest_first_with_answer_and_counts(api):
    body = api.get(f"/forms/{ONBOARDING_FORM_ID}/submissions", limit=10).json()
    assert set(body) == {
        "page",
        "limit",
        "hasMore",
        "totalNumberOfSubmissionsPerFilter",
        "questions",
        "submissions",
    }
    counts = body["totalNumberOfSubmissionsPerFilter"]
    assert counts["all"] == 40 == counts["completed"] + counts["partial"]
    assert counts["partial"] > 0
    assert body["hasMore"] is True
    times = [s["submittedAt"] for s in body["submissions"]]
    assert times == sorted(times, reverse=True)
    sub = body["submissions"][0]
    assert set(sub) == {"id", "formId", "respondentId", "isCompleted", "submittedAt", "responses"}
    assert set(sub["responses"][0]) == {"id", "questionId", "answer"}


def test_it_filters_completed_and_partial_submissions(api):
    path = f"/forms/{ONBOARDING_FORM_ID}/submissions"
    done = api.get(path, filter="completed", limit=500).json()
    partial = api.get(path, filter="partial", limit=500).json()
    assert all(s["isCompleted"] for s in done["submissions"])
    assert not any(s["isCompleted"] for s in partial["submissions"])
    assert len(done["submissions"]) + len(partial["submissions"]) == 40
    assert api.get(path, filter="bogus").status_code == 400


def test_it_pages_submissions_to_the_end(api):
    path = f"/forms/{ONBOARDING_FORM_ID}/submissions"
    seen, page = [], 1
    while True:
        body = api.get(path, limit=15, page=page).json()
        seen += [s["id"] for s in body["submissions"]]
        if not body["hasMore"]:
            break
        page += 1
    assert page == 3
    assert len(seen) == len(set(seen)) == 40


def test_it_returns_only_submissions_strictly_after_after_id(api):
    path = f"/forms/{ONBOARDING_FORM_ID}/submissions"
    ordered = list(
        Submission.objects.filter(form_id=ONBOARDING_FORM_ID)
        .order_by("submitted_at", "pk")
        .values_list("public_id", flat=True)
    )
    anchor = ordered[29]
    body = api.get(path, afterId=anchor, limit=500).json()
    assert {s["id"] for s in body["submissions"]} == set(ordered[30:])
    assert body["totalNumberOfSubmissionsPerFilter"]["all"] == 10
    assert api.get(path, afterId="nope00").status_code == 400


def test_it_filters_submissions_by_date_range(api):
    form = Form.objects.get(id=SUPPORT_FORM_ID)
    form.submissions.all().delete()
    now = timezone.now()
    for days in (1, 10, 20):
        services.submission_create(form=form, answers={}, submitted_at=now - timedelta(days=days))
    path = f"/forms/{SUPPORT_FORM_ID}/submissions"
    start = (now - timedelta(days=15)).date().isoformat()
    end = (now - timedelta(days=5)).date().isoformat()
    assert len(api.get(path, startDate=start, endDate=end).json()["submissions"]) == 1
    since = (now - timedelta(days=11)).isoformat()
    assert len(api.get(path, startDate=since).json()["submissions"]) == 2
    assert api.get(path, startDate="yesterday-ish").status_code == 400


def test_it_returns_one_submission_with_formatted_answers(api):
    form = Form.objects.get(id=ONBOARDING_FORM_ID)
    sub = services.submission_create(
        form=form,
        answers={"Bq7mLw": "Acme NV", "Hw9tVc": ["4fae7d9c-5a6b-4c23-9e4f-5a6b7c8d9ea5"]},
    )
    resp = api.get(f"/forms/{ONBOARDING_FORM_ID}/submissions/{sub.public_id}")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"questions", "submission"}
    responses = {r["questionId"]: r for r in body["submission"]["responses"]}
    assert responses["Bq7mLw"]["answer"] == "Acme NV"
    assert responses["Hw9tVc"]["formattedAnswer"] == "Training"
    assert api.get(f"/forms/{ONBOARDING_FORM_ID}/submissions/zzzzzz").status_code == 404


def test_it_lists_10000_submissions_quickly(api):
    form = Form.objects.get(id=SUPPORT_FORM_ID)
    submissions_bulk_create(form, 10_000, seed="bench")
    # CPU time of this process: what the page costs, not how busy the machine is.
    started = time.process_time()
    body = api.get(f"/forms/{SUPPORT_FORM_ID}/submissions", limit=500, page=10).json()
    assert time.process_time() - started < 3
    assert len(body["submissions"]) == 500
    assert body["totalNumberOfSubmissionsPerFilter"]["all"] == 10_024


# --- Analytics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "period", ["today", "yesterday", "24h", "7d", "30d", "3m", "6m", "12m", "all"]
)
def test_it_answers_every_analytics_period(api, period):
    base = f"/forms/{ONBOARDING_FORM_ID}/analytics"
    metrics = api.get(base + "/metrics", period=period).json()
    assert set(metrics) == {
        "visits",
        "visitDuration",
        "submissions",
        "uniqueRespondents",
        "totalViews",
        "starts",
        "completions",
        "completionDuration",
        "completionRate",
    }
    visits = api.get(base + "/visits", period=period).json()
    assert sum(v["totalVisits"] for v in visits["data"].values()) == metrics["visits"]
    series = api.get(base + "/submissions", period=period).json()
    assert sum(b["completed"] for b in series["data"].values()) == metrics["completions"]
    expected = "hour" if period in ("today", "yesterday", "24h") else "day"
    assert visits["interval"] == series["interval"] == expected
    assert api.get(base + "/dimensions", period=period).status_code == 200
    assert api.get(base + "/drop-off", period=period).status_code == 200


def test_it_buckets_analytics_by_day_over_30_days(api):
    body = api.get(f"/forms/{ONBOARDING_FORM_ID}/analytics/submissions", period="30d").json()
    keys = list(body["data"])
    assert len(keys) in (30, 31)
    assert len(keys[0]) == 10 and keys[0][4] == "-"
    metrics = api.get(f"/forms/{ONBOARDING_FORM_ID}/analytics/metrics", period="all").json()
    assert metrics["starts"] == 40
    assert 0 < metrics["completionRate"] <= 100


@pytest.mark.parametrize("query", [{}, {"period": "2w"}])
def test_it_requires_a_known_analytics_period(api, query):
    resp = api.get(f"/forms/{ONBOARDING_FORM_ID}/analytics/metrics", **query)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "period"


def test_it_breaks_analytics_down_by_source_device_and_country(api):
    body = api.get(f"/forms/{ONBOARDING_FORM_ID}/analytics/dimensions", period="all").json()
    assert set(body) == {"sources", "devices", "countries"}
    assert (
        sum(d["submissions"] for d in body["devices"])
        == Submission.objects.filter(form_id=ONBOARDING_FORM_ID, is_completed=True).count()
    )
    assert set(body["sources"][0]) == {"name", "visits", "submissions"}


def test_it_reports_drop_off_per_question(api):
    body = api.get(f"/forms/{ONBOARDING_FORM_ID}/analytics/drop-off", period="all").json()
    assert set(body) == {"stats", "dataAvailableSince", "data", "hasConditionalLogic"}
    first = body["data"][0]
    assert set(first) == {
        "blockGroupUuid",
        "title",
        "type",
        "views",
        "startedViews",
        "answers",
        "drops",
        "answerRate",
        "dropRate",
        "isRequired",
    }
    assert first["views"] == 40
    assert sum(q["drops"] for q in body["data"]) == body["stats"]["drops"] > 0


def test_it_answers_a_json_null_drop_off_for_a_form_without_submissions(api):
    Submission.objects.filter(form_id=SUPPORT_FORM_ID).delete()
    resp = api.get(f"/forms/{SUPPORT_FORM_ID}/analytics/drop-off", period="7d")
    assert resp.status_code == 200
    assert resp.content == b"null"


def test_it_answers_404_for_an_unknown_analytics_metric(api):
    assert api.get(f"/forms/{SUPPORT_FORM_ID}/analytics/heatmap", period="7d").status_code == 404


# --- Webhooks CRUD --------------------------------------------------------------------------


def _hook_body(**extra):
    return {
        "formId": ONBOARDING_FORM_ID,
        "url": "https://kickoff.example/hooks/tally/abc",
        "eventTypes": ["FORM_RESPONSE"],
        **extra,
    }


def test_it_creates_lists_updates_and_deletes_a_webhook(api):
    created = api.post(
        "/webhooks",
        _hook_body(signingSecret="s3cret", httpHeaders=[{"name": "X-Kickoff", "value": "1"}]),
    )
    assert created.status_code == 201
    hook = created.json()
    assert hook["isEnabled"] is True and hook["signingSecret"] == "s3cret"
    listed = api.get("/webhooks").json()
    assert set(listed) == {"webhooks", "page", "limit", "hasMore", "totalCount"}
    assert listed["totalCount"] == 1 and listed["webhooks"][0]["signingSecret"] == "s3cret"
    patched = api.patch(
        f"/webhooks/{hook['id']}", _hook_body(isEnabled=False, url="https://x.test/h")
    )
    assert patched.status_code == 200
    assert patched.json()["isEnabled"] is False and patched.json()["url"] == "https://x.test/h"
    assert api.delete(f"/webhooks/{hook['id']}").status_code == 204
    assert api.get("/webhooks").json()["totalCount"] == 0
    assert api.delete(f"/webhooks/{hook['id']}").status_code == 404


def test_it_requires_every_field_on_webhook_patch(api):
    hook = api.post("/webhooks", _hook_body()).json()
    resp = api.patch(f"/webhooks/{hook['id']}", {"url": "https://x.test/h"})
    assert resp.status_code == 400
    body = resp.json()
    assert {e["field"] for e in body["errors"]} == {"formId", "eventTypes", "isEnabled"}
    assert "formId" in body["message"] and "isEnabled" in body["message"]


@pytest.mark.parametrize(
    "bad",
    [
        {"url": "ftp://x"},
        {"eventTypes": ["FORM_DELETED"]},
        {"eventTypes": []},
        {"httpHeaders": [{"name": "X"}]},
    ],
)
def test_it_validates_a_new_webhook(api, bad):
    resp = api.post("/webhooks", _hook_body(**bad))
    assert resp.status_code == 400
    assert resp.json()["errorType"] == "VALIDATION"


def test_it_refuses_webhooks_on_someone_elses_form(api, other_api):
    assert api.post("/webhooks", _hook_body(formId=OTHER_FORM_ID)).status_code == 404
    hook = api.post("/webhooks", _hook_body()).json()
    assert other_api.get("/webhooks").json()["totalCount"] == 0
    assert other_api.delete(f"/webhooks/{hook['id']}").status_code == 404


# --- Faults and rate limit ----------------------------------------------------------------


def test_it_answers_500_for_the_next_n_calls_then_recovers(client, api):
    assert control(client, "/faults", {"kind": "500", "count": 2}).status_code == 200
    assert api.get("/users/me").status_code == 500
    assert api.get("/forms").status_code == 500
    assert api.get("/users/me").status_code == 200


def test_it_answers_429_with_retry_after_when_told(client, api):
    control(client, "/faults", {"kind": "429", "count": 1, "retry_after": 7})
    resp = api.get("/forms")
    assert resp.status_code == 429
    assert resp["Retry-After"] == "7"
    assert api.get("/forms").status_code == 200


def test_it_hangs_then_answers_normally(client, api):
    control(client, "/faults", {"kind": "hang", "count": 1, "hang_seconds": 0.3})
    started = time.monotonic()
    resp = api.get("/users/me")
    assert resp.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_it_clears_faults(client, api):
    control(client, "/faults", {"kind": "500", "count": 5})
    assert control(client, "/faults", method="delete").json()["remaining"] == 0
    assert api.get("/users/me").status_code == 200


def test_it_rejects_an_unknown_fault_kind(client, tally):
    assert control(client, "/faults", {"kind": "418", "count": 1}).status_code == 400


@override_settings(SANDBOX_TALLY_RATE_LIMIT=3)
def test_it_rate_limits_each_token_per_minute_without_headers(api, other_api, monkeypatch):
    # Inside one minute, even when a slow run would straddle a minute boundary.
    monkeypatch.setattr(services, "time", SimpleNamespace(time=lambda: 1_700_000_010.0))
    assert [api.get("/users/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    limited = api.get("/forms")
    assert limited.status_code == 429
    assert "Retry-After" not in limited
    assert other_api.get("/users/me").status_code == 200


@override_settings(SANDBOX_TALLY_RATE_LIMIT=0)
def test_it_can_switch_the_rate_limit_off(api):
    assert all(api.get("/users/me").status_code == 200 for _ in range(5))


def test_it_defaults_to_tallys_rate_limit_of_100_per_minute():
    assert services.rate_limit() == 100


def test_it_resets_to_the_seeded_state(client, api):
    api.post("/webhooks", _hook_body())
    body = control(client, "/reset").json()
    assert ALL_TYPES_FORM_ID in body["forms"]
    assert api.get("/webhooks").json()["totalCount"] == 0
