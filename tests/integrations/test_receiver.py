"""POST /hooks/tally/<key>/: verify, parse, store once, fan out into the outbox."""

import json
import threading

import pytest
import respx
from django.db import connection as db_connection
from django.test import Client

from integrations.models import Delivery, Endpoint, Mapping, Submission
from integrations.outbox import deliveries_dispatch
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")


@pytest.fixture
def mapping(db):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


@pytest.fixture
def endpoint(mapping):
    return pf.endpoint_for(mapping, secret="whsec-receiver-test")


def url(endpoint):
    return f"/hooks/tally/{endpoint.key}/"


def post(client, endpoint, data=None, *, body=None, secret=None, headers=None):
    body = pf.body_of(data if data is not None else pf.envelope()) if body is None else body
    sent = pf.signed_headers(secret or endpoint.signing_secret, body)
    sent.update(headers or {})
    return client.post(
        url(endpoint),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in sent.items() if k != "Content-Type"},
    )


def nothing_stored():
    return Submission.objects.count() == 0 and Delivery.objects.count() == 0


def test_it_stores_a_signed_submission_verbatim_and_its_delivery_goes_out_once(
    client, endpoint, mapping, task_queue, django_capture_on_commit_callbacks
):
    data = pf.envelope(submission_id="sub001", event_id="evt-001")
    body = pf.body_of(data)
    # Even with commit callbacks run, the receiver itself publishes nothing.
    with respx.mock(assert_all_called=False), django_capture_on_commit_callbacks(execute=True):
        response = post(client, endpoint, body=body, headers={"User-Agent": "Tally Webhooks"})
    assert task_queue.ids == []  # the row is the outbox

    assert response.status_code == 200
    assert response.json() == {"status": "stored", "deliveries": 1}
    sub = Submission.objects.get()
    assert bytes(sub.raw_body) == body
    assert sub.payload == data
    assert (sub.event_id, sub.form_id, sub.submission_id) == (
        "evt-001",
        pf.SUPPORT_FORM_ID,
        "sub001",
    )
    assert sub.source == Submission.Source.WEBHOOK and sub.endpoint == endpoint
    assert sub.headers["User-Agent"] == "Tally Webhooks"
    assert sub.headers["Tally-Signature"]
    assert sub.submitted_at.isoformat() == "2025-03-04T10:14:58+00:00"
    # Option ids resolved to their text, for the search box.
    assert "ria@example.com" in sub.search_text and "Bug" in sub.search_text
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.next_attempt_at is None
    assert delivery.mapping == mapping and delivery.mapping_version == mapping.current_version
    assert delivery.attempt_count == 0 and not delivery.outcome_unknown and delivery.run_id == ""

    assert deliveries_dispatch() == 1
    assert deliveries_dispatch() == 0
    assert task_queue.ids == [delivery.pk]


def test_one_submission_fans_out_to_every_enabled_mapping_of_the_form(
    client, endpoint, mapping, task_queue
):
    second = pf.support_mapping(
        tally=mapping.tally_connection, tallyfy=mapping.tallyfy_connection, name="Second"
    )
    pf.support_mapping(
        tally=mapping.tally_connection,
        tallyfy=mapping.tallyfy_connection,
        name="Switched off",
        status=Mapping.Status.DISABLED,
    )
    pf.support_mapping(
        tally=mapping.tally_connection,
        tallyfy=mapping.tallyfy_connection,
        name="Other form",
        form_id="nGz7Qe",
    )
    assert post(client, endpoint).json() == {"status": "stored", "deliveries": 2}

    assert set(Delivery.objects.values_list("mapping_id", flat=True)) == {mapping.pk, second.pk}
    assert {d.mapping_version_id for d in Delivery.objects.all()} == {
        mapping.current_version_id,
        second.current_version_id,
    }
    deliveries_dispatch()
    assert sorted(task_queue.ids) == sorted(Delivery.objects.values_list("pk", flat=True))


def test_a_redelivered_event_answers_200_and_creates_nothing(client, endpoint, task_queue):
    data = pf.envelope(event_id="evt-dup")
    assert post(client, endpoint, data).status_code == 200
    again = post(client, endpoint, data)

    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert Submission.objects.count() == 1 and Delivery.objects.count() == 1


def test_the_same_submission_from_another_webhook_answers_200_and_creates_nothing(client, endpoint):
    assert post(client, endpoint, pf.envelope(submission_id="same1")).status_code == 200
    other_event = post(client, endpoint, pf.envelope(submission_id="same1"))

    assert other_event.json() == {"status": "duplicate"}
    assert Submission.objects.count() == 1 and Delivery.objects.count() == 1


def test_a_body_over_one_mebibyte_is_refused_with_413_and_nothing_stored(client, endpoint):
    data = pf.envelope(
        fields=[{"key": "question_big", "type": "TEXTAREA", "value": "x" * 1_100_000}]
    )
    response = post(client, endpoint, data)

    assert response.status_code == 413
    assert nothing_stored()


def test_an_unknown_endpoint_key_is_a_404(client, db):
    response = client.post("/hooks/tally/no-such-key/", data=b"{}", content_type="application/json")

    assert response.status_code == 404
    assert nothing_stored()


def test_a_missing_signature_is_a_401_counted_on_the_endpoint(client, endpoint):
    body = pf.body_of(pf.envelope())
    response = client.post(url(endpoint), data=body, content_type="application/json")

    assert response.status_code == 401
    assert "missing" in response.json()["message"]
    endpoint.refresh_from_db()
    assert endpoint.signature_failures == 1 and endpoint.last_signature_failure_at
    assert nothing_stored()


def test_a_wrong_signature_is_a_401_counted_and_nothing_else_is_stored(
    client, endpoint, abuse_samplers, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(abuse_samplers.signature_writes, "clock", lambda: now[0])
    response = post(client, endpoint, secret="not-the-secret")
    post(client, endpoint, secret="still-not-it")  # folded into the next write
    assert Endpoint.objects.get(pk=endpoint.pk).signature_failures == 1
    now[0] += abuse_samplers.SAMPLE_SECONDS
    post(client, endpoint, secret="again-not-it")

    assert response.status_code == 401
    assert "does not match" in response.json()["message"]
    assert Endpoint.objects.get(pk=endpoint.pk).signature_failures == 3
    assert nothing_stored()


def test_a_signature_over_re_serialized_json_is_refused(client, endpoint):
    body = b'{"eventId": "e1", "eventType": "FORM_RESPONSE", "data": {}}'
    compact = pf.body_of(json.loads(body))
    response = client.post(
        url(endpoint),
        data=body,
        content_type="application/json",
        headers={
            "Tally-Signature": pf.signed_headers(endpoint.signing_secret, compact)[
                "Tally-Signature"
            ]
        },
    )
    assert response.status_code == 401
    assert nothing_stored()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"", "empty"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"eventType": "FORM_RESPONSE"}', "eventId must be a non-empty string"),
        (b'{"eventId": 5, "eventType": "FORM_RESPONSE"}', "eventId must be a non-empty string"),
        (b'{"eventId": "e", "eventType": "FORM_RESPONSE"}', "data must be an object"),
        (
            b'{"eventId": "e", "eventType": "FORM_RESPONSE", "data": {"formId": "3jqXkP", '
            b'"submissionId": "s", "fields": {}}}',
            "data.fields must be a list",
        ),
        (
            b'{"eventId": "e", "eventType": "FORM_RESPONSE", "data": {"submissionId": "s", '
            b'"fields": []}}',
            "data.formId must be a non-empty string",
        ),
        (
            b'{"eventId": "e", "eventType": "FORM_RESPONSE", "data": {"formId": "3jqXkP", '
            b'"fields": []}}',
            "data.responseId must be a non-empty string",
        ),
        (
            b'{"eventId": "e", "eventType": "FORM_RESPONSE", "data": {"formId": "3jqXkP", '
            b'"submissionId": "s", "createdAt": "yesterday", "fields": []}}',
            "data.createdAt",
        ),
        (
            b'{"eventId": "e", "eventType": "FORM_RESPONSE", "data": {"formId": "3jqXkP", '
            b'"submissionId": "s", "fields": [{"label": "x"}]}}',
            "data.fields[0].key",
        ),
        (b'{"eventId": "e", "eventType": "FORM_RESPONSE", "n": NaN}', "not valid JSON"),
        (b'{"eventId": "e\\u0000", "eventType": "FORM_RESPONSE"}', "NUL"),
        (b'{"eventId": "\\ud800", "eventType": "FORM_RESPONSE"}', "surrogate"),
    ],
)
def test_a_body_that_is_not_a_form_response_is_a_400_with_the_reason(
    client, endpoint, body, reason
):
    response = post(client, endpoint, body=body)

    assert response.status_code == 400
    assert reason in response.json()["message"]
    assert nothing_stored()


def test_a_submission_of_another_form_is_refused(client, endpoint):
    response = post(client, endpoint, pf.envelope(form_id="nGz7Qe"))

    assert response.status_code == 400
    assert "not the form of this endpoint" in response.json()["message"]
    assert nothing_stored()


def test_an_unknown_event_type_is_acknowledged_and_ignored(client, endpoint):
    response = post(client, endpoint, pf.envelope(event_type="FORM_DELETED"))

    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert nothing_stored()


def test_only_post_is_allowed(client, endpoint):
    assert client.get(url(endpoint)).status_code == 405
    assert nothing_stored()


def test_it_never_calls_a_vendor(client, endpoint, task_queue, django_capture_on_commit_callbacks):
    with (
        respx.mock(assert_all_mocked=True) as router,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert post(client, endpoint).status_code == 200
    assert router.calls.call_count == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_copies_of_one_event_store_one_submission(task_queue):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    endpoint = pf.endpoint_for(mapping)
    body = pf.body_of(pf.envelope(event_id="evt-race", submission_id="race1"))
    results, barrier = [], threading.Barrier(6)

    def deliver():
        barrier.wait()
        try:
            results.append(post(Client(), endpoint, body=body).status_code)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results == [200] * 6
    assert Submission.objects.count() == 1 and Delivery.objects.count() == 1
    deliveries_dispatch()
    assert len(task_queue.ids) == 1


def test_a_secret_changed_since_it_was_cached_is_checked_against_the_database(client, endpoint):
    assert post(client, endpoint).status_code == 200  # the endpoint is now cached
    endpoint.signing_secret = "whsec-rotated"
    endpoint.save()

    response = post(client, endpoint, pf.envelope(submission_id="after-rotation"))

    assert response.status_code == 200 and response.json()["status"] == "stored"
    assert post(client, endpoint, secret="whsec-receiver-test").status_code == 401
    assert Endpoint.objects.get().signature_failures == 1


@pytest.mark.django_db(transaction=True)  # the foreign key is checked at commit
def test_an_endpoint_deleted_since_it_was_cached_is_a_404_and_stores_nothing(client, endpoint):
    assert post(client, endpoint).status_code == 200  # cached
    Submission.objects.all().delete()
    key, secret = endpoint.key, endpoint.signing_secret
    endpoint.delete()

    body = pf.body_of(pf.envelope(submission_id="after-delete"))
    response = client.post(
        f"/hooks/tally/{key}/",
        data=body,
        content_type="application/json",
        headers={"Tally-Signature": pf.signed_headers(secret, body)["Tally-Signature"]},
    )

    assert response.status_code == 404
    assert nothing_stored()


def test_a_duplicate_never_adds_a_delivery_for_a_mapping_enabled_since(client, endpoint, mapping):
    data = pf.envelope(submission_id="first-seen")
    assert post(client, endpoint, data).json()["deliveries"] == 1
    pf.support_mapping(
        tally=mapping.tally_connection, tallyfy=mapping.tallyfy_connection, name="Later"
    )

    assert post(client, endpoint, data).json() == {"status": "duplicate"}
    assert Delivery.objects.count() == 1
