"""Webhook delivery from the sandbox Tally: payload shape against Tally's published example,
signature, retries on Tally's schedule, the delivery log, redelivery, the submit page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import pytest
from django.test import override_settings

from integrations.sandbox.tally import services, tasks
from integrations.sandbox.tally.catalog import ALL_TYPES_FORM_ID, ONBOARDING_FORM_ID
from integrations.sandbox.tally.models import WebhookEvent

from . import test_tally_support as support
from .test_tally_support import CONTROL, FIXTURE, control, register_webhook

# Shared fixtures (this package has no conftest of its own).
api = support.api
receiver = support.receiver
tally = support.tally


def fixture_payload() -> dict:
    return json.loads(FIXTURE.read_text())


def fixture_answers() -> dict:
    """The fixture's answers keyed by field key, as the control API accepts them."""
    return {f["key"]: f["value"] for f in fixture_payload()["data"]["fields"]}


def submit(client, form_id: str, answers: dict, **extra) -> dict:
    resp = control(client, f"/forms/{form_id}/submissions", {"answers": answers, **extra})
    assert resp.status_code == 201, resp.content
    return resp.json()


def test_it_delivers_exactly_the_fields_of_tallys_all_types_example(client, api, receiver):
    register_webhook(api, ALL_TYPES_FORM_ID, receiver.url)
    result = submit(client, ALL_TYPES_FORM_ID, fixture_answers())
    assert result["deliveries"][0]["deliveryStatus"] == "SUCCEEDED"
    payload = receiver.payloads()[0]
    expected = fixture_payload()
    assert set(payload) == set(expected)
    assert set(payload["data"]) == set(expected["data"])
    assert payload["data"]["fields"] == expected["data"]["fields"]
    assert payload["eventType"] == "FORM_RESPONSE"
    assert payload["eventId"] == result["eventIds"][0]
    assert payload["data"]["formName"] == "Webhook payload"
    assert (
        payload["data"]["responseId"] == payload["data"]["submissionId"] == result["submissionId"]
    )


def test_it_sends_null_for_unanswered_questions_and_checkbox_options(client, api, receiver):
    register_webhook(api, ALL_TYPES_FORM_ID, receiver.url)
    submit(client, ALL_TYPES_FORM_ID, {"question_3EKz4n": "Only text", "Email": "a@b.test"})
    fields = {f["key"]: f for f in receiver.payloads()[0]["data"]["fields"]}
    expected_keys = [f["key"] for f in fixture_payload()["data"]["fields"]]
    assert list(fields) == expected_keys
    assert fields["question_3EKz4n"]["value"] == "Only text"
    assert fields["question_w4Q4Xn"]["value"] == "a@b.test"
    nulls = [k for k, f in fields.items() if f["value"] is None]
    assert len(nulls) == len(fields) - 2
    assert fields["question_wQ1K7w_9bbb6bd7-1e3b-4e48-b4b9-a221d5aad87e"]["value"] is None
    assert fields["question_wQ1K7w"]["options"][0]["text"] == "Soccer"


def test_it_keeps_falsy_answers_and_false_checkbox_options(client, api, receiver):
    register_webhook(api, ALL_TYPES_FORM_ID, receiver.url)
    submit(
        client,
        ALL_TYPES_FORM_ID,
        {"question_nr5yNw": 0, "question_3Nrpl3": "", "Checkboxes": ["Skiing"]},
    )
    fields = {f["key"]: f for f in receiver.payloads()[0]["data"]["fields"]}
    assert fields["question_nr5yNw"]["value"] == 0
    assert fields["question_3Nrpl3"]["value"] == ""
    assert fields["question_wQ1K7w"]["value"] == ["b42d4e8c-bdb6-4c82-b749-906706c251ff"]
    assert fields["question_wQ1K7w_9bbb6bd7-1e3b-4e48-b4b9-a221d5aad87e"]["value"] is False
    assert fields["question_wQ1K7w_b42d4e8c-bdb6-4c82-b749-906706c251ff"]["value"] is True


def test_it_signs_the_raw_body_with_base64_hmac_sha256(client, api, receiver):
    register_webhook(
        api,
        ONBOARDING_FORM_ID,
        receiver.url,
        signingSecret="whsec-sandbox",
        httpHeaders=[{"name": "X-Kickoff-Key", "value": "k1"}],
    )
    submit(client, ONBOARDING_FORM_ID, {"Company name": "Acme NV", "Plan": "Growth"})
    request = receiver.requests[0]
    expected = base64.b64encode(
        hmac.new(b"whsec-sandbox", request["body"], hashlib.sha256).digest()
    ).decode()
    assert request["headers"]["Tally-Signature"] == expected
    assert request["headers"]["User-Agent"] == "Tally Webhooks"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Kickoff-Key"] == "k1"


def test_it_sends_no_signature_without_a_signing_secret(client, api, receiver):
    register_webhook(api, ONBOARDING_FORM_ID, receiver.url)
    submit(client, ONBOARDING_FORM_ID, {"Company name": "Acme NV"})
    assert "Tally-Signature" not in receiver.requests[0]["headers"]


def test_it_delivers_one_event_per_enabled_webhook(client, api, receiver):
    register_webhook(api, ONBOARDING_FORM_ID, receiver.url)
    register_webhook(api, ONBOARDING_FORM_ID, receiver.url + "/2")
    disabled = register_webhook(api, ONBOARDING_FORM_ID, receiver.url + "/3")
    api.patch(
        f"/webhooks/{disabled['id']}",
        {**{k: disabled[k] for k in ("formId", "url", "eventTypes")}, "isEnabled": False},
    )
    result = submit(client, ONBOARDING_FORM_ID, {"Company name": "Acme NV"})
    assert len(result["eventIds"]) == 2 == len(receiver.requests)
    assert len(set(result["eventIds"])) == 2


def test_it_does_not_deliver_partial_submissions_or_when_told_not_to(client, api, receiver):
    register_webhook(api, ONBOARDING_FORM_ID, receiver.url)
    submit(client, ONBOARDING_FORM_ID, {"Company name": "A"}, completed=False)
    submit(client, ONBOARDING_FORM_ID, {"Company name": "B"}, deliver=False)
    assert receiver.requests == []


def test_it_rejects_unknown_fields_and_options_in_the_control_api(client, tally):
    path = f"/forms/{ONBOARDING_FORM_ID}/submissions"
    assert control(client, path, {"answers": {"question_nope00": "x"}}).status_code == 400
    assert control(client, path, {"answers": {"Plan": "Platinum"}}).status_code == 400


@override_settings(SANDBOX_TIME_SCALE=0.001)
def test_it_retries_on_tallys_schedule_then_drops(client, api, receiver):
    hook = register_webhook(api, ONBOARDING_FORM_ID, receiver.url)
    receiver.statuses = [500] * 6
    submit(client, ONBOARDING_FORM_ID, {"Company name": "Acme NV"})
    event = WebhookEvent.objects.get()
    delays = []
    for _ in range(5):
        assert event.status == "FAILED"
        delays.append((event.next_attempt_at - event.last_attempt_at).total_seconds())
        assert services.deliver_due(now=event.next_attempt_at - timedelta(milliseconds=1)) == []
        services.deliver_due(now=event.next_attempt_at)
        event.refresh_from_db()
    assert delays == pytest.approx([0.3, 1.8, 3.6, 21.6, 86.4], abs=0.002)
    assert event.status == "DROPPED" and event.retry == 5 and event.next_attempt_at is None
    assert len(receiver.requests) == 6
    assert len({r["body"] for r in receiver.requests}) == 1  # same bytes every time
    log = api.get(f"/webhooks/{hook['id']}/events").json()
    assert log["events"][0]["deliveryStatus"] == "DROPPED"
    assert log["events"][0]["retry"] == 5 and log["events"][0]["statusCode"] == 500


@override_settings(SANDBOX_TIME_SCALE=0)
def test_it_runs_due_retries_from_the_control_api_and_the_celery_task(client, api, receiver):
    register_webhook(api, ONBOARDING_FORM_ID, receiver.url)
    receiver.statuses = [503]
    submit(client, ONBOARDING_FORM_ID, {"Company name": "Acme NV"})
    assert WebhookEvent.objects.get().status == "FAILED"
    resp = control(client, "/deliver-due").json()
    assert resp["attempted"][0]["deliveryStatus"] == "SUCCEEDED"
    receiver.statuses = [500]
    submit(client, ONBOARDING_FORM_ID, {"Company name": "Globex"})
    receiver.statuses = []
    assert tasks.deliver_due.name == "sandbox_tally.deliver_due"
    assert tasks.deliver_due.apply().get() == 1
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"SUCCEEDED"}


def test_it_records_a_refused_connection_as_a_failure(client, api):
    register_webhook(api, ONBOARDING_FORM_ID, "http://127.0.0.1:9/nothing-listens-here")
    result = submit(client, ONBOARDING_FORM_ID, {"Company name": "Acme NV"})
    delivery = result["deliveries"][0]
    assert delivery["deliveryStatus"] == "FAILED"
    assert delivery["statusCode"] is None
    assert "ConnectError" in delivery["response"]


def test_it_pages_the_delivery_log_25_at_a_time(client, api, receiver):
    hook = register_webhook(api, ONBOARDING_FORM_ID, receiver.url)
    form = services.Form.objects.get(id=ONBOARDING_FORM_ID)
    sub = services.submission_create(form=form, answers={})
    for _ in range(27):
        services.events_create_for_submission(sub)
    first = api.get(f"/webhooks/{hook['id']}/events").json()
    assert set(first) == {"events", "page", "hasMore", "totalNumberOfEvents"}
    assert (len(first["events"]), first["hasMore"], first["totalNumberOfEvents"]) == (25, True, 27)
    second = api.get(f"/webhooks/{hook['id']}/events", page=2).json()
    assert (len(second["events"]), second["hasMore"]) == (2, False)
    event = first["events"][0]
    assert set(event) == {
        "id",
        "webhookId",
        "eventType",
        "deliveryStatus",
        "statusCode",
        "response",
        "retry",
        "payload",
        "createdAt",
    }
    assert event["deliveryStatus"] == "QUEUED"
    assert event["payload"]["data"]["formId"] == ONBOARDING_FORM_ID


def test_it_redelivers_an_event_with_the_same_event_id(client, api, receiver):
    hook = register_webhook(api, ONBOARDING_FORM_ID, receiver.url, signingSecret="s")
    receiver.statuses = [500]
    result = submit(client, ONBOARDING_FORM_ID, {"Company name": "Acme NV"})
    event_id = result["eventIds"][0]
    resp = api.post(f"/webhooks/{hook['id']}/events/{event_id}")
    assert resp.status_code == 200
    assert resp.json()["deliveryStatus"] == "SUCCEEDED"
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    assert receiver.payloads()[1]["eventId"] == event_id
    log = api.get(f"/webhooks/{hook['id']}/events").json()
    assert log["totalNumberOfEvents"] == 2
    assert api.post(f"/webhooks/{hook['id']}/events/unknown").status_code == 404


def test_it_renders_the_submit_page_with_real_inputs(client, tally):
    html = client.get(f"/sandbox/tally/forms/{ALL_TYPES_FORM_ID}/submit").content.decode()
    assert "Submit a response" in html
    for snippet in (
        'name="question_3EKz4n" type="text"',
        'name="question_w4Q4Xn" type="email"',
        'name="question_nr5yNw" type="number"',
        'name="question_3xrXrn" type="date"',
        'type="radio" name="question_3qL4Gm"',
        'type="checkbox" name="question_wQ1K7w"',
        '<select id="question_n9BqQm"',
        'name="question_mVGEg3_8b5711e3-f6a2-4e25-9e68-5d730598c681"',
        'type="file"',
    ):
        assert snippet in html, snippet


def test_it_stores_and_delivers_a_response_from_the_submit_page(client, api, receiver):
    register_webhook(api, ALL_TYPES_FORM_ID, receiver.url)
    resp = client.post(
        f"/sandbox/tally/forms/{ALL_TYPES_FORM_ID}/submit",
        {
            "question_3EKz4n": "Hello",
            "question_w4Q4Xn": "alice@example.com",
            "question_nr5yNw": "10",
            "question_wQ1K7w": [
                "cb33303b-4e9d-4bb3-8b51-f16acbf573fe",
                "b42d4e8c-bdb6-4c82-b749-906706c251ff",
            ],
            "question_n9BqQm": "6010d529-62a5-484d-bb03-dcbcbfc76f0b",
            "question_mVGEg3_8b5711e3-f6a2-4e25-9e68-5d730598c681": "newsletter",
            "question_nPpjVn_84b69d73-0a85-4577-89f4-8632632cc222": "20",
            "question_mBazQn__row__98618291-f36d-4743-9393-b67bca0d1ef2": (
                "77be6b60-3b56-4db0-b39b-deb2d8243ea1"
            ),
            "question_wAz7Dn": "Alice Smith",
        },
    )
    assert resp.status_code == 200
    assert "Response received" in resp.content.decode()
    assert "delivered" in resp.content.decode()
    fields = {f["key"]: f["value"] for f in receiver.payloads()[0]["data"]["fields"]}
    assert fields["question_nr5yNw"] == 10
    assert fields["question_nPpjVn_84b69d73-0a85-4577-89f4-8632632cc222"] == 20
    assert fields["question_mVGEg3_8b5711e3-f6a2-4e25-9e68-5d730598c681"] == "newsletter"
    assert fields["question_wQ1K7w_cb33303b-4e9d-4bb3-8b51-f16acbf573fe"] is True
    assert fields["question_n9BqQm"] == ["6010d529-62a5-484d-bb03-dcbcbfc76f0b"]
    assert fields["question_mBazQn"] == {
        "98618291-f36d-4743-9393-b67bca0d1ef2": ["77be6b60-3b56-4db0-b39b-deb2d8243ea1"]
    }
    assert fields["question_wAz7Dn"][0]["mimeType"] == "image/png"


def test_it_refuses_a_submit_missing_a_required_answer(client, tally):
    resp = client.post(f"/sandbox/tally/forms/{ALL_TYPES_FORM_ID}/submit", {"question_3EKz4n": "x"})
    assert resp.status_code == 400
    assert "Email is required" in resp.content.decode()


def test_it_shows_forms_webhooks_and_faults_on_the_home_page(client, api, receiver):
    register_webhook(api, ONBOARDING_FORM_ID, receiver.url)
    submit(client, ONBOARDING_FORM_ID, {"Company name": "Acme NV"})
    html = client.get("/sandbox/tally/").content.decode()
    for snippet in ("tly-sandbox-demo-key", "Client onboarding request", receiver.url, "SUCCEEDED"):
        assert snippet in html
    client.post("/sandbox/tally/faults", {"kind": "429", "count": "2", "retry_after": "3"})
    assert "answer <strong>429</strong>" in client.get("/sandbox/tally/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_delivers_over_real_http_end_to_end(live_server, receiver):
    from integrations.sandbox.tally.seed import seed

    seed()
    headers = {"Authorization": "Bearer tly-sandbox-demo-key", "tally-version": "2025-02-01"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=10) as http:
        hook = http.post(
            "/sandbox/tally/api/webhooks",
            json={
                "formId": ALL_TYPES_FORM_ID,
                "url": receiver.url,
                "eventTypes": ["FORM_RESPONSE"],
                "signingSecret": "live-secret",
            },
        )
        assert hook.status_code == 201
        created = http.post(
            CONTROL + f"/forms/{ALL_TYPES_FORM_ID}/submissions",
            json={"answers": fixture_answers(), "deliver": True},
        ).json()
        assert created["deliveries"][0]["deliveryStatus"] == "SUCCEEDED"
        listed = http.get(
            f"/sandbox/tally/api/forms/{ALL_TYPES_FORM_ID}/submissions",
            params={"afterId": created["submissionId"]},
        ).json()
        assert listed["submissions"] == []
        newest = http.get(f"/sandbox/tally/api/forms/{ALL_TYPES_FORM_ID}/submissions").json()
        assert newest["submissions"][0]["id"] == created["submissionId"]
        http.post(CONTROL + "/faults", json={"kind": "hang", "count": 1, "hang_seconds": 0.2})
        assert http.get("/sandbox/tally/api/users/me").status_code == 200
    body = receiver.requests[0]["body"]
    signature = base64.b64encode(hmac.new(b"live-secret", body, hashlib.sha256).digest()).decode()
    assert receiver.requests[0]["headers"]["Tally-Signature"] == signature
    assert json.loads(body)["data"]["fields"] == fixture_payload()["data"]["fields"]
