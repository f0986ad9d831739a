"""Reconcile and Tally's delivery log (services; Tally faked with respx)."""

import httpx
import pytest
import respx

from integrations import reconcile
from integrations.models import AuditEvent
from tests import pipeline_factories as pf

TALLY = "https://tally.test"


@pytest.fixture(autouse=True)
def vendor_urls(settings):
    settings.TALLY_API_BASE_URL = TALLY


@pytest.fixture
def mapping(db):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


# --- Tally's delivery log and Redeliver ---------------------------------------------------


def event(event_id, status, submission_id, code=None):
    return {
        "id": event_id,
        "webhookId": "wh1",
        "eventType": "FORM_RESPONSE",
        "deliveryStatus": status,
        "statusCode": code,
        "retry": 0,
        "createdAt": "2025-03-04T10:15:00.000Z",
        "payload": pf.envelope(submission_id=submission_id),
    }


def test_tallys_delivery_log_shows_each_event_and_whether_kickoff_has_it(mapping):
    pf.endpoint_for(mapping, webhook_id="wh1")
    pf.ingest(mapping, pf.envelope(submission_id="have01"))
    with respx.mock(base_url=TALLY) as tally:
        tally.get("/webhooks/wh1/events").respond(
            200,
            json={
                "events": [
                    event("e1", "SUCCEEDED", "have01", 200),
                    event("e2", "DROPPED", "lost01", 500),
                ],
                "page": 1,
                "hasMore": False,
                "totalNumberOfEvents": 2,
            },
        )
        log = reconcile.tally_delivery_log(mapping)

    assert not log.error
    assert [(e.id, e.delivery_status, e.in_kickoff) for e in log.events] == [
        ("e1", "SUCCEEDED", True),
        ("e2", "DROPPED", False),
    ]


def test_tallys_delivery_log_explains_a_mapping_without_a_webhook(mapping):
    log = reconcile.tally_delivery_log(mapping)
    assert "no Tally webhook" in log.error and log.events == []


def test_redeliver_asks_tally_and_is_audited(mapping, operator):
    pf.endpoint_for(mapping, webhook_id="wh1")
    with respx.mock(base_url=TALLY) as tally:
        route = tally.post("/webhooks/wh1/events/e2").respond(200, json={})
        reconcile.tally_redeliver(mapping, "e2", operator)

    assert route.call_count == 1
    assert AuditEvent.objects.get(action="tally.event_redelivered").data["event_id"] == "e2"


def test_a_refused_redelivery_says_why(mapping, operator):
    pf.endpoint_for(mapping, webhook_id="wh1")
    with respx.mock(base_url=TALLY) as tally:
        tally.post("/webhooks/wh1/events/e2").mock(side_effect=httpx.ConnectError("down"))
        with pytest.raises(reconcile.RedeliverError, match="Tally"):
            reconcile.tally_redeliver(mapping, "e2", operator)
    assert not AuditEvent.objects.filter(action="tally.event_redelivered").exists()
