"""Issue #17, item 3 at the receiver: every odd body is a 400 with its reason (or is
read as it was meant), never a 500 or a wrong 401."""

import io
import json
import time

import pytest

from integrations.models import Delivery, Submission
from integrations.tally.answers import answers_from_webhook
from integrations.tally.display import display
from tests import pipeline_factories as pf

SECRET = "whsec-hardening"


@pytest.fixture
def endpoint(db, task_queue):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    return pf.endpoint_for(mapping, secret=SECRET)


def post(client, endpoint, data, **extra):
    body = data if isinstance(data, bytes) else pf.body_of(data)
    return client.post(
        f"/hooks/tally/{endpoint.key}/",
        data=body,
        content_type="application/json",
        headers={"Tally-Signature": pf.signed_headers(SECRET, body)["Tally-Signature"]},
        **extra,
    )


def nested(depth: int):
    value = "deep"
    for _ in range(depth):
        value = [value]
    return value


def test_a_nul_in_the_key_is_unknown_without_asking_the_database(
    client, db, django_assert_num_queries
):
    # PostgreSQL refuses a NUL in a query: it used to reach it, as a 500.
    with django_assert_num_queries(0):
        response = client.post("/hooks/tally/%00/", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_a_body_nested_deeper_than_the_limit_is_refused(client, endpoint):
    fields = [{"key": "question_x", "type": "INPUT_TEXT", "value": nested(500)}]
    response = post(client, endpoint, pf.envelope(fields=fields))
    assert response.status_code == 400
    assert "nested deeper than 64" in response.json()["message"]
    assert not Submission.objects.exists()


def test_too_many_fields_are_refused(client, endpoint):
    fields = [{"key": f"question_{i}", "type": "INPUT_TEXT", "value": "x"} for i in range(5_001)]
    response = post(client, endpoint, pf.envelope(fields=fields))
    assert response.status_code == 400
    assert "at most 5000" in response.json()["message"]
    assert not Submission.objects.exists()


def test_an_answer_longer_than_any_form_answer_is_refused(client, endpoint):
    fields = [{"key": "question_x", "type": "TEXTAREA", "value": "x" * 100_001}]
    response = post(client, endpoint, pf.envelope(fields=fields))
    assert response.status_code == 400
    assert "at most 100,000 are taken" in response.json()["message"]
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    ("created_at", "reason"),
    [
        ("2025-03-04T10:14:58+16:00", "beyond ±14:00"),
        ("2025-03-04T10:14:58-15:30", "beyond ±14:00"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
        ("9999-12-31T23:59:59-05:00", "out of range"),
    ],
)
def test_an_impossible_created_at_is_refused(client, endpoint, created_at, reason):
    data = pf.envelope()
    data["data"]["createdAt"] = created_at
    response = post(client, endpoint, data)
    assert response.status_code == 400
    assert reason in response.json()["message"]
    assert not Submission.objects.exists()


def test_created_at_is_stored_in_utc(client, endpoint):
    data = pf.envelope()
    data["data"]["createdAt"] = "2025-03-04T23:30:00+14:00"
    assert post(client, endpoint, data).status_code == 200
    stored = Submission.objects.get().submitted_at
    assert stored.isoformat() == "2025-03-04T09:30:00+00:00"


def chunked(body: bytes) -> dict:
    """A request as gunicorn hands over a chunked one: no Content-Length, and a de-chunked
    stream that reads up to what is asked."""
    return {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
    }


def test_a_chunked_body_is_read(client, endpoint):
    # Django's own stream is limited to the (absent) length and read as empty, which
    # failed the signature: a 401 for a valid delivery.
    body = pf.body_of(pf.envelope())
    response = post(client, endpoint, body, **chunked(body))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "stored"
    assert Delivery.objects.count() == 1


def test_a_chunked_body_over_the_cap_is_refused(client, endpoint):
    body = b" " * (1024 * 1024 + 10) + b"{}"
    response = post(client, endpoint, body, **chunked(body))
    assert response.status_code == 413


def test_checkbox_fields_are_matched_in_linear_time():
    # 22,000 checkbox questions: matching each per-option field against every earlier
    # question took minutes (past the worker's time limit).
    fields = [
        {"key": f"question_q{i}", "type": "CHECKBOXES", "value": None, "options": []}
        for i in range(22_000)
    ]
    fields.append({"key": "question_q21999_opt", "type": "CHECKBOXES", "value": True})
    started = time.monotonic()
    answers = answers_from_webhook({"fields": fields})
    assert time.monotonic() - started < 5
    assert len(answers) == 22_000
    assert answers[-1].value == ["opt"]


def test_deep_answers_are_shown_not_a_recursion_error():
    # Bodies stored before the limit (or read from Tally's API) may nest ~1000 deep.
    (answer,) = answers_from_webhook(
        {"fields": [{"key": "question_x", "type": "INPUT_TEXT", "value": nested(980)}]}
    )
    assert display(answer).text == "…"
    (matrix,) = answers_from_webhook(
        {"fields": [{"key": "question_m", "type": "MATRIX", "value": nested(980)}]}
    )
    assert display(matrix).text == "…"


def test_json_of_the_envelope_is_untouched(client, endpoint):
    data = pf.envelope()
    data["data"]["createdAt"] = "2025-03-04T10:14:58+02:00"
    body = pf.body_of(data)
    assert post(client, endpoint, body).status_code == 200
    # The raw body is kept byte for byte; only the parsed date is normalised.
    assert json.loads(bytes(Submission.objects.get().raw_body)) == data
