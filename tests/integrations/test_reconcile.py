"""Reconcile and Tally's delivery log (services; Tally faked with respx)."""

import httpx
import pytest
import respx

from integrations import reconcile
from integrations.models import AuditEvent, Endpoint, Submission
from tests import pipeline_factories as pf

TALLY = "https://tally.test"


@pytest.fixture(autouse=True)
def vendor_urls(settings):
    settings.TALLY_API_BASE_URL = TALLY


@pytest.fixture
def mapping(db):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


# --- Reconcile ----------------------------------------------------------------------------


class TallySubmissions:
    """Tally's completed submissions of the support form: newest first, one per page,
    only those after `afterId` when it is given (as Tally pages them)."""

    def __init__(self, *ids):
        self.ids = list(ids)  # oldest first
        self.asked_after = []

    def __call__(self, request):
        after = request.url.params.get("afterId")
        self.asked_after.append(after)
        newer = [i for i in self.ids if after is None or self.ids.index(i) > self.ids.index(after)]
        newest_first = newer[::-1]
        number = int(request.url.params.get("page", 1))
        page = newest_first[number - 1 : number]
        return httpx.Response(
            200,
            json={
                "page": number,
                "hasMore": number < len(newest_first),
                "questions": [],
                "submissions": [
                    {
                        "id": sid,
                        "formId": pf.SUPPORT_FORM_ID,
                        "respondentId": "r-" + sid,
                        "isCompleted": True,
                        "submittedAt": f"2025-03-01T10:0{self.ids.index(sid)}:00.000Z",
                        "responses": [],
                    }
                    for sid in page
                ],
            },
        )


def test_reconcile_ingests_what_never_arrived_once_and_moves_its_cursor(mapping):
    pf.endpoint_for(mapping)
    tally_has = TallySubmissions("sub-1", "sub-2")
    with respx.mock(base_url=TALLY) as tally:
        tally.get(f"/forms/{pf.SUPPORT_FORM_ID}/submissions").mock(side_effect=tally_has)
        first = reconcile.reconcile_mapping(mapping)
        again = reconcile.reconcile_mapping(mapping)

    assert (first.ingested, again.ingested) == (2, 0)
    assert set(Submission.objects.values_list("submission_id", flat=True)) == {"sub-1", "sub-2"}
    assert tally_has.asked_after[-1] == "sub-2"  # the second run asks only for newer ones
    assert Endpoint.objects.get().reconcile_after_id == "sub-2"


def test_a_backlog_larger_than_one_reconcile_keeps_its_cursor_until_all_is_read(
    mapping, monkeypatch
):
    pf.endpoint_for(mapping)
    tally_has = TallySubmissions("oldest", "middle", "newest")
    with respx.mock(base_url=TALLY) as tally:
        tally.get(f"/forms/{pf.SUPPORT_FORM_ID}/submissions").mock(side_effect=tally_has)
        # One run reads two pages: the newest two; the oldest is left for the next run.
        monkeypatch.setattr(reconcile, "SUBMISSION_MAX_PAGES", 2)
        first = reconcile.reconcile_mapping(mapping)
        assert first.ingested == 2
        assert Endpoint.objects.get().reconcile_after_id == ""  # held where it was

        monkeypatch.setattr(reconcile, "SUBMISSION_MAX_PAGES", 20)
        second = reconcile.reconcile_mapping(mapping)

    # The next run asks from the same place, so the submission no run had read yet arrives.
    assert (second.ingested, second.duplicates) == (1, 2)
    assert Submission.objects.filter(submission_id="oldest").exists()
    assert Endpoint.objects.get().reconcile_after_id == "newest"


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
