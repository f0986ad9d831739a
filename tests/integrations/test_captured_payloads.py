"""Every captured Tally payload in tests/fixtures/tally/, replayed through the receiver and
the answers: a new file there is covered by these tests without a line of code.

What each file shows is written from docs/vendor-notes.md ("Webhook delivery"), not from the
code under test: checkbox option sub-fields (`<parent key>_<optionId>`) are never answers,
every other field is one answer however empty, and `0`/`false` are real answers.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from integrations.models import Delivery, Submission
from integrations.tally.answers import answers_from_webhook
from integrations.tally.display import display
from tests import pipeline_factories as pf
from tests.fixtures import TALLY

PAYLOADS = sorted(TALLY.glob("*.json"))

# What staff see for some answers, by field label (None: shown as unanswered). Files not
# named here are held to the rules every payload follows.
SHOWN: dict[str, dict[str, str | None]] = {
    "form-response-all-types": {
        "utm_campaign": "newsletter",
        "Score": "20",
        "Checkboxes": "Swimming, Skiing",
        "Multiple choice": "In progress",
        "Ranking": "Pear, Apple, Banana",
        "Matrix": "Quality: Satisfied; Speed: Neutral",
        "File upload": "Tally_Icon.png",
    },
    "form-response-hidden-fields-null": {
        "utm_source": "linkedin",
        "utm_medium": None,
        "utm_campaign": None,
        "ref": None,
        "Score": "0",
        "Tier": None,
        "Work email": "sam@example.org",
        "Company": None,
    },
    "form-response-emoji-form-name": {
        "👋 Your name": "Zoë  Ångström",
        "Plan 📦": "Team 👥",
        "": "Kick-off  next week 🙏",
    },
    "form-response-checkbox-options": {
        "Services": "Design, Host",
        "Add-ons": None,
        "Preferred contact": "Email",
        "Seats": "0",
    },
}


def fields_of(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    return envelope["data"]["fields"]


def answer_keys(envelope: dict[str, Any]) -> list[str]:
    """The keys staff should see, in Tally's order: every field but the option sub-fields."""
    sub_fields: set[str] = set()
    for f in fields_of(envelope):
        if f["type"] == "CHECKBOXES" and f["key"] not in sub_fields:
            sub_fields |= {f"{f['key']}_{o['id']}" for o in f.get("options") or []}
    return [f["key"] for f in fields_of(envelope) if f["key"] not in sub_fields]


def answers_table(page: str) -> list[tuple[str, str]]:
    """(field key, answer text) per row of a page's answers table, as a person reads it."""
    table = re.search(r'<table class="data" id="answers">(.*?)</table>', page, re.S)
    assert table, "the page shows no answers table"
    rows = re.findall(
        r'<td class="answer">(.*?)</td>\s*<td><code class="field-key">(.*?)</code>',
        table.group(1),
        re.S,
    )
    return [(html.unescape(key), _text(cell)) for cell, key in rows]


def _text(cell: str) -> str:
    items = re.findall(r"<li>(.*?)</li>", cell, re.S) or [cell]
    return ", ".join(html.unescape(re.sub(r"<[^>]+>", "", i)).strip() for i in items)


@pytest.fixture(params=PAYLOADS, ids=[p.stem for p in PAYLOADS])
def captured(request) -> tuple[str, bytes, dict[str, Any]]:
    path: Path = request.param
    body = path.read_bytes()
    return path.stem, body, json.loads(body)


def test_it_has_tallys_example_and_the_real_world_shapes():
    assert {p.stem for p in PAYLOADS} >= set(SHOWN)


def test_it_reads_each_captured_payload_into_one_answer_per_question(captured):
    name, _, envelope = captured
    answers = answers_from_webhook(envelope)

    assert [a.key for a in answers] == answer_keys(envelope)
    raw = {f["key"]: f for f in fields_of(envelope)}
    for answer in answers:
        assert answer.label == raw[answer.key]["label"]
        if raw[answer.key]["value"] is None:
            assert not display(answer).answered, answer.key
        elif not answer.is_choice and answer.type != "MATRIX":
            # Falsy values are answers too: kept as sent.
            assert answer.value == raw[answer.key]["value"], answer.key
    shown = {a.label: display(a).text for a in answers}
    for label, text in SHOWN.get(name, {}).items():
        assert shown[label] == text, label


def test_the_receiver_stores_each_captured_payload_as_staff_then_see_it(
    captured, client, operator, task_queue
):
    name, body, envelope = captured
    data = envelope["data"]
    mapping = pf.support_mapping(
        tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection(), form_id=data["formId"]
    )
    endpoint = pf.endpoint_for(mapping)
    signature = pf.signed_headers(endpoint.signing_secret, body)["Tally-Signature"]

    def post():
        return client.post(
            f"/hooks/tally/{endpoint.key}/",
            data=body,
            content_type="application/json",
            headers={"Tally-Signature": signature},
        ).json()

    assert post() == {"status": "stored", "deliveries": 1}
    assert post() == {"status": "duplicate"}  # Tally's retry adds nothing

    submission = Submission.objects.get()
    assert bytes(submission.raw_body) == body
    assert submission.form_name == data["formName"]  # emoji and double spaces intact
    assert (submission.event_id, submission.form_id, submission.submission_id) == (
        envelope["eventId"],
        data["formId"],
        data["submissionId"],
    )
    delivery = Delivery.objects.get()

    client.force_login(operator)
    page = client.get(reverse("dashboard:delivery_detail", args=[delivery.pk])).content.decode()

    rows = answers_table(page)
    assert [key for key, _ in rows] == answer_keys(envelope)
    by_label = {f["key"]: f["label"] for f in fields_of(envelope)}
    seen = {by_label[key]: text for key, text in rows}
    for label, text in SHOWN.get(name, {}).items():
        # The page lists a multi-part answer item by item (read back here joined by ", ").
        expected = "(empty)" if text is None else text.replace("; ", ", ")
        assert seen[label] == expected, label
    assert html.escape(data["formName"]) in page
