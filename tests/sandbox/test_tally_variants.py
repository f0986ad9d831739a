"""The sandbox Tally's variant switches: each variant the vendor's sources allow, as a caller
sees it, flipped from settings, the control API or the home page."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from integrations.sandbox.tally import switches
from integrations.sandbox.tally.catalog import ALL_TYPES_FORM_ID, SUPPORT_FORM_ID
from integrations.sandbox.tally.models import Form

from . import test_tally_support as support
from .test_tally_support import CONTROL, control, register_webhook

# Shared fixtures (this package has no conftest of its own).
api = support.api
receiver = support.receiver
tally = support.tally

SUBMISSIONS = f"/forms/{SUPPORT_FORM_ID}/submissions"
CHOICE_BLOCKS = {
    "MULTIPLE_CHOICE_OPTION",
    "CHECKBOX",
    "DROPDOWN_OPTION",
    "MULTI_SELECT_OPTION",
    "RANKING_OPTION",
}


def flip(client, **values: str) -> None:
    resp = control(client, "/switches", values)
    assert resp.status_code == 200, resp.content


def submit(client, form_id: str, answers: dict, **extra) -> dict:
    resp = control(client, f"/forms/{form_id}/submissions", {"answers": answers, **extra})
    assert resp.status_code == 201, resp.content
    return resp.json()


# --- The switches themselves ------------------------------------------------------------


def test_every_switch_starts_at_its_setting_whose_default_is_the_first_value(client, tally):
    listed = client.get(CONTROL + "/switches").json()["switches"]
    assert [s["name"] for s in listed] == [
        "questions_shape",
        "answer_key",
        "after_id",
        "block_options",
        "webhook_events",
    ]
    for s in listed:
        assert s["value"] == s["default"] == s["values"][0]["value"]
        assert s["setting"].startswith("SANDBOX_TALLY_")


def test_a_setting_chooses_the_variant_until_the_control_api_flips_it(client, api, settings):
    settings.SANDBOX_TALLY_ANSWER_KEY = "value"
    response = api.get(SUBMISSIONS).json()["submissions"][0]["responses"][0]
    assert "value" in response and "answer" not in response
    flip(client, answer_key="answer")
    response = api.get(SUBMISSIONS).json()["submissions"][0]["responses"][0]
    assert "answer" in response and "value" not in response
    control(client, "/switches", method="delete")
    response = api.get(SUBMISSIONS).json()["submissions"][0]["responses"][0]
    assert "value" in response


def test_it_refuses_an_unknown_switch_or_value(client, tally):
    assert control(client, "/switches", {"answer_key": "text"}).status_code == 400
    assert control(client, "/switches", {"nope": "x"}).status_code == 400
    assert switches.current(switches.ANSWER_KEY) == "answer"


def test_the_home_page_flips_switches_and_a_reset_puts_them_back(client, tally):
    page = client.get("/sandbox/tally/").content.decode()
    assert 'name="questions_shape"' in page and "SANDBOX_TALLY_QUESTIONS_SHAPE=fields" in page
    resp = client.post("/sandbox/tally/switches", {"questions_shape": "uuid", "after_id": "older"})
    assert resp.status_code == 302
    assert switches.current(switches.QUESTIONS_SHAPE) == "uuid"
    assert switches.current(switches.AFTER_ID) == "older"
    assert '<option value="uuid" selected>' in client.get("/sandbox/tally/").content.decode()
    control(client, "/reset")
    assert switches.current(switches.QUESTIONS_SHAPE) == "fields"
    assert switches.current(switches.AFTER_ID) == "newer"


# --- Questions shape --------------------------------------------------------------------


def test_questions_carry_id_and_fields_by_default(api):
    questions = api.get(f"/forms/{SUPPORT_FORM_ID}/questions").json()["questions"]
    assert questions[0]["id"] == "Ky5vXe"
    assert questions[0]["fields"][0]["uuid"]


def test_questions_can_come_as_uuid_type_title_only(client, api):
    flip(client, questions_shape="uuid")
    questions = api.get(f"/forms/{SUPPORT_FORM_ID}/questions").json()["questions"]
    assert [set(q) for q in questions] == [{"uuid", "type", "title"}] * 4
    assert questions[0]["title"] == "Your email"
    body = api.get(SUBMISSIONS).json()
    assert body["questions"] == questions
    uuids = {q["uuid"] for q in questions}
    referenced = {r["questionId"] for s in body["submissions"] for r in s["responses"]}
    assert referenced and referenced <= uuids
    one = body["submissions"][0]["id"]
    detail = api.get(f"{SUBMISSIONS}/{one}").json()
    assert detail["questions"] == questions
    assert {r["questionId"] for r in detail["submission"]["responses"]} <= uuids


# --- answer / value ---------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "absent"), [("answer", "value"), ("value", "answer")])
def test_responses_carry_the_chosen_answer_key_in_lists_and_detail(client, api, variant, absent):
    flip(client, answer_key=variant)
    listed = api.get(SUBMISSIONS).json()["submissions"][0]
    detail = api.get(f"{SUBMISSIONS}/{listed['id']}").json()["submission"]
    for response in listed["responses"] + detail["responses"]:
        assert variant in response and absent not in response
    email = next(r for r in detail["responses"] if r["questionId"] == "Ky5vXe")
    assert "@" in email[variant]


# --- afterId ----------------------------------------------------------------------------


def _three_new_submissions(client) -> list[str]:
    """Three submissions an hour apart, newer than every seeded one: oldest first."""
    now = timezone.now()
    ids = []
    for hours in (1, 2, 3):
        when = (now + timedelta(hours=hours)).isoformat()
        created = submit(client, SUPPORT_FORM_ID, {}, deliver=False, submittedAt=when)
        ids.append(created["submissionId"])
    return ids


def test_after_id_newer_returns_only_submissions_newer_than_the_anchor(client, api):
    _first, second, third = _three_new_submissions(client)
    listed = api.get(SUBMISSIONS, afterId=second, limit=500).json()["submissions"]
    assert [s["id"] for s in listed] == [third]


def test_after_id_older_follows_the_newest_first_list_order(client, api):
    first, second, third = _three_new_submissions(client)
    flip(client, after_id="older")
    listed = [
        s["id"] for s in api.get(SUBMISSIONS, afterId=second, limit=500).json()["submissions"]
    ]
    seeded = Form.objects.get(id=SUPPORT_FORM_ID).submissions.count() - 3
    assert listed[0] == first
    assert second not in listed and third not in listed
    assert len(listed) == seeded + 1
    # Paging on with the last id of a page never repeats a submission.
    page = [s["id"] for s in api.get(SUBMISSIONS, afterId=third, limit=2).json()["submissions"]]
    following = api.get(SUBMISSIONS, afterId=page[-1], limit=2).json()["submissions"]
    assert page == [second, first]
    assert not {s["id"] for s in following} & set(page)


@pytest.mark.parametrize("direction", ["newer", "older"])
def test_a_cursor_it_no_longer_knows_is_refused(client, api, direction):
    flip(client, after_id=direction)
    assert api.get(SUBMISSIONS, afterId="nope00").status_code == 400
    gone = _three_new_submissions(client)[1]
    assert api.get(SUBMISSIONS, afterId=gone).status_code == 200
    deleted = control(client, f"/forms/{SUPPORT_FORM_ID}/submissions/{gone}", method="delete")
    assert deleted.status_code == 204
    refused = api.get(SUBMISSIONS, afterId=gone)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "afterId"


# --- Options in form blocks -------------------------------------------------------------


def test_form_blocks_carry_choice_options_by_default(api):
    blocks = api.get(f"/forms/{ALL_TYPES_FORM_ID}").json()["blocks"]
    texts = {b["payload"]["text"] for b in blocks if b["type"] in CHOICE_BLOCKS}
    assert {"Soccer", "Easy", "Golf", "Apple", "Done"} <= texts


def test_form_blocks_can_carry_no_options_while_webhooks_still_do(client, api, receiver):
    flip(client, block_options="without")
    blocks = api.get(f"/forms/{ALL_TYPES_FORM_ID}").json()["blocks"]
    assert not [b for b in blocks if b["type"] in CHOICE_BLOCKS]
    dropdown = [b for b in blocks if b["groupType"] == "DROPDOWN"]
    assert [b["type"] for b in dropdown] == ["DROPDOWN"]
    assert "Easy" not in str(blocks)
    register_webhook(api, ALL_TYPES_FORM_ID, receiver.url)
    submit(client, ALL_TYPES_FORM_ID, {"Dropdown": "Easy", "Text": "t", "Email": "a@b.test"})
    fields = {f["key"]: f for f in receiver.payloads()[0]["data"]["fields"]}
    assert [o["text"] for o in fields["question_n9BqQm"]["options"]] == ["Easy", "Hard"]


# --- Webhooks changed in Tally's own Integrations tab -----------------------------------


def test_a_webhook_disabled_in_tally_delivers_nothing_and_shows_disabled(client, api, receiver):
    hook = register_webhook(api, SUPPORT_FORM_ID, receiver.url)
    resp = control(client, f"/webhooks/{hook['id']}", {"isEnabled": False})
    assert resp.status_code == 200
    listed = api.get("/webhooks").json()["webhooks"]
    assert [h["isEnabled"] for h in listed if h["id"] == hook["id"]] == [False]
    submit(client, SUPPORT_FORM_ID, {"Your email": "a@b.test"})
    assert receiver.requests == []


def test_a_webhook_deleted_in_tally_is_gone_from_the_api(client, api):
    hook = register_webhook(api, SUPPORT_FORM_ID, "https://kickoff.example/hooks/tally/k/")
    assert control(client, f"/webhooks/{hook['id']}", method="delete").status_code == 204
    assert hook["id"] not in {h["id"] for h in api.get("/webhooks").json()["webhooks"]}
    assert api.get(f"/webhooks/{hook['id']}/events").status_code == 404
    patch = {**{k: hook[k] for k in ("formId", "url", "eventTypes")}, "isEnabled": True}
    assert api.patch(f"/webhooks/{hook['id']}", patch).status_code == 404


def test_the_home_page_disables_enables_and_deletes_a_webhook(client, api):
    hook = register_webhook(api, SUPPORT_FORM_ID, "https://kickoff.example/hooks/tally/k/")
    page = client.get("/sandbox/tally/").content.decode()
    assert f"/sandbox/tally/webhooks/{hook['id']}/disable" in page
    client.post(f"/sandbox/tally/webhooks/{hook['id']}/disable")
    assert api.get("/webhooks").json()["webhooks"][0]["isEnabled"] is False
    client.post(f"/sandbox/tally/webhooks/{hook['id']}/enable")
    assert api.get("/webhooks").json()["webhooks"][0]["isEnabled"] is True
    client.post(f"/sandbox/tally/webhooks/{hook['id']}/delete")
    assert api.get("/webhooks").json()["webhooks"] == []


# --- The webhook event log --------------------------------------------------------------


def test_the_event_log_can_answer_404_while_the_webhook_still_delivers(client, api, receiver):
    hook = register_webhook(api, SUPPORT_FORM_ID, receiver.url)
    assert api.get(f"/webhooks/{hook['id']}/events").status_code == 200
    flip(client, webhook_events="missing")
    assert api.get(f"/webhooks/{hook['id']}/events").status_code == 404
    assert hook["id"] in {h["id"] for h in api.get("/webhooks").json()["webhooks"]}
    submit(client, SUPPORT_FORM_ID, {"Your email": "a@b.test"})
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_a_switch_flipped_over_http_holds_for_the_next_api_call(live_server):
    from integrations.sandbox.tally.seed import seed

    seed()
    headers = {"Authorization": "Bearer tly-sandbox-demo-key", "tally-version": "2025-02-01"}
    path = f"/sandbox/tally/api/forms/{SUPPORT_FORM_ID}/questions"
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=10) as http:
        assert "id" in http.get(path).json()["questions"][0]
        flipped = http.post(CONTROL + "/switches", json={"questions_shape": "uuid"})
        assert flipped.status_code == 200
        assert set(http.get(path).json()["questions"][0]) == {"uuid", "type", "title"}
