"""GET /metrics: Prometheus text behind a bearer token, figures read at scrape time."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from integrations.models import Delivery, DeliveryAttempt, Submission
from integrations.outbox import deliveries_dispatch
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")

TOKEN = "metrics-token-123"


@pytest.fixture
def mapping(db):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


@pytest.fixture
def endpoint(mapping):
    return pf.endpoint_for(mapping, secret="whsec-metrics-test")


def post(client, endpoint, data=None, *, body=None, secret=None):
    body = pf.body_of(data if data is not None else pf.envelope()) if body is None else body
    signature = pf.signed_headers(secret or endpoint.signing_secret, body)["Tally-Signature"]
    return client.post(
        f"/hooks/tally/{endpoint.key}/",
        data=body,
        content_type="application/json",
        headers={"Tally-Signature": signature},
    )


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics by (name, sorted labels), parsed as Prometheus would."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_metrics_do_not_exist_without_a_token(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_bearer_token(client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401


def test_metrics_report_received_rejected_and_deliveries(client, endpoint, settings, task_queue):
    settings.METRICS_TOKEN = TOKEN
    data = pf.envelope()
    post(client, endpoint, data)
    post(client, endpoint, data)  # Tally's retry of the same event
    post(client, endpoint, secret="wrong")
    post(client, endpoint, body=b"nope")

    samples = scrape(client)

    assert samples[("kickoff_submissions_received_total", (("source", "webhook"),))] == 1
    assert samples[("kickoff_submissions_received_total", (("source", "reconcile"),))] == 0
    rejected = "kickoff_webhooks_rejected_total"
    assert samples[(rejected, (("reason", "signature_mismatch"),))] == 1
    assert samples[(rejected, (("reason", "bad_envelope"),))] == 1
    assert samples[(rejected, (("reason", "too_large"),))] == 0
    assert samples[("kickoff_webhook_signature_failures_total", ())] == 1
    assert samples[("kickoff_webhooks_duplicate_total", ())] == 1
    assert samples[("kickoff_webhooks_ignored_total", ())] == 0
    assert samples[("kickoff_deliveries", (("status", "pending"),))] == 1
    assert samples[("kickoff_deliveries", (("status", "succeeded"),))] == 0
    # The delivery was never dispatched: the outbox gauge shows its age.
    assert samples[("kickoff_outbox_oldest_unsent_seconds", ())] >= 0
    assert ("kickoff_delivery_queue_lag_seconds", ()) in samples

    deliveries_dispatch()
    assert scrape(client)[("kickoff_outbox_oldest_unsent_seconds", ())] == 0


def test_metrics_count_what_any_process_stored(client, endpoint, mapping, settings):
    """Figures come from the database, so a scrape of any web process sees every worker's
    attempts, and a waiting delivery's age is measured from when it was queued."""
    settings.METRICS_TOKEN = TOKEN
    now = timezone.now()
    submission = Submission.objects.create(
        endpoint=endpoint,
        tally_connection=mapping.tally_connection,
        event_id="evt-m",
        form_id=mapping.form_id,
        submission_id="sub-m",
        raw_body=b"{}",
        source=Submission.Source.RECONCILE,
    )
    delivery = Delivery.objects.create(
        submission=submission,
        mapping=mapping,
        mapping_version=mapping.current_version,
        status=Delivery.Status.RETRYING,
        next_attempt_at=now - timedelta(seconds=90),
    )
    for number, (ms, outcome) in enumerate(
        [(40, "retry"), (300, "retry"), (40_000, "unknown")], start=1
    ):
        DeliveryAttempt.objects.create(
            delivery=delivery, number=number, duration_ms=ms, outcome=outcome
        )

    samples = scrape(client)

    assert samples[("kickoff_submissions_received_total", (("source", "reconcile"),))] == 1
    assert samples[("kickoff_deliveries", (("status", "retrying"),))] == 1
    assert samples[("kickoff_delivery_attempts_total", (("outcome", "retry"),))] == 2
    assert samples[("kickoff_delivery_attempts_total", (("outcome", "unknown"),))] == 1
    bucket = "kickoff_delivery_attempt_seconds_bucket"
    assert samples[(bucket, (("le", "0.05"),))] == 1
    assert samples[(bucket, (("le", "0.5"),))] == 2
    assert samples[(bucket, (("le", "30"),))] == 2
    assert samples[(bucket, (("le", "+Inf"),))] == 3
    assert samples[("kickoff_delivery_attempt_seconds_count", ())] == 3
    assert samples[("kickoff_delivery_attempt_seconds_sum", ())] == pytest.approx(40.34)
    assert 90 <= samples[("kickoff_delivery_queue_lag_seconds", ())] < 150


def test_metrics_never_show_a_secret(client, endpoint, settings, task_queue):
    settings.METRICS_TOKEN = TOKEN
    post(client, endpoint)
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    assert endpoint.signing_secret not in text and TOKEN not in text


def test_deliveries_waiting_for_a_staff_check_are_counted(client, endpoint, settings, task_queue):
    settings.METRICS_TOKEN = TOKEN
    post(client, endpoint)
    Delivery.objects.update(status=Delivery.Status.NEEDS_CHECK, outcome_unknown=True)

    samples = scrape(client)

    assert samples[("kickoff_deliveries", (("status", "needs_check"),))] == 1
