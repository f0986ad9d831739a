"""Reconcile and Tally's delivery log (services; Tally faked with respx)."""

from datetime import datetime, timedelta

import httpx
import pytest
import respx
from django.utils import timezone

from integrations import contract, reconcile, webhooks
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
    """Tally's completed submissions of the support form, listed as Tally documents it:
    newest first, between `startDate` and `endDate` (inclusive), `per_page` a page. With
    `ignore_dates` it lists every submission whatever the dates asked."""

    def __init__(self, submitted: dict[str, datetime], *, per_page=500, ignore_dates=False):
        self.submitted = submitted
        self.per_page = per_page
        self.ignore_dates = ignore_dates
        self.asked = []

    def __call__(self, request):
        params = dict(request.url.params)
        self.asked.append(params)
        start = datetime.fromisoformat(params["startDate"])
        end = datetime.fromisoformat(params["endDate"])
        listed = sorted(
            (sid for sid, at in self.submitted.items() if self.ignore_dates or start <= at <= end),
            key=self.submitted.get,
            reverse=True,
        )
        number = int(params.get("page", 1))
        page = listed[(number - 1) * self.per_page : number * self.per_page]
        return httpx.Response(
            200,
            json={
                "page": number,
                "hasMore": number * self.per_page < len(listed),
                "questions": [],
                "submissions": [
                    {
                        "id": sid,
                        "formId": pf.SUPPORT_FORM_ID,
                        "respondentId": "r-" + sid,
                        "isCompleted": True,
                        "submittedAt": self.submitted[sid].isoformat().replace("+00:00", "Z"),
                        "responses": [],
                    }
                    for sid in page
                ],
            },
        )


def created(days_ago: float) -> Endpoint:
    """The watched form's endpoint, made `days_ago` days ago; returns it."""
    endpoint = Endpoint.objects.get()
    endpoint.created_at = timezone.now() - timedelta(days=days_ago)
    Endpoint.objects.filter(pk=endpoint.pk).update(created_at=endpoint.created_at)
    return endpoint


def ingested_ids():
    return set(Submission.objects.values_list("submission_id", flat=True))


def test_reconcile_reads_date_windows_from_the_endpoints_creation_never_afterid(mapping):
    pf.endpoint_for(mapping)
    Endpoint.objects.update(reconcile_after_id="deleted-in-tally")  # a cursor Tally refuses
    endpoint = created(days_ago=3)
    at = endpoint.created_at
    tally_has = TallySubmissions(
        {
            "before-kickoff": at - timedelta(days=2),
            "day-1": at + timedelta(hours=5),
            "today": timezone.now() - timedelta(minutes=5),
        }
    )
    with respx.mock(base_url=TALLY) as tally:
        tally.get(f"/forms/{pf.SUPPORT_FORM_ID}/submissions").mock(side_effect=tally_has)
        first = reconcile.reconcile_mapping(mapping)
        asked_first = len(tally_has.asked)
        again = reconcile.reconcile_mapping(mapping)

    assert (first.ingested, again.ingested) == (2, 0)
    assert ingested_ids() == {"day-1", "today"}  # nothing from before the endpoint existed
    assert all("afterId" not in p for p in tally_has.asked)
    assert all(p["filter"] == "completed" and p["limit"] == "500" for p in tally_has.asked)
    endpoint = Endpoint.objects.get()
    assert endpoint.reconcile_after_id == ""  # the old cursor is dropped
    assert timezone.now() - endpoint.reconcile_since < timedelta(minutes=1)
    # The next run reads only the last hour again (the overlap), in one window.
    [second_window] = tally_has.asked[asked_first:]
    start = datetime.fromisoformat(second_window["startDate"])
    assert abs(start - (endpoint.reconcile_since - reconcile.SUBMISSION_OVERLAP)) < timedelta(
        seconds=2
    )
    assert contract.check_state(mapping.tally_connection, contract.SUBMISSION_WINDOWS) == "verified"


def test_a_run_out_of_page_budget_holds_the_watermark_before_the_window_it_did_not_finish(
    mapping, monkeypatch
):
    pf.endpoint_for(mapping)
    at = created(days_ago=3).created_at
    # Three submissions early in the first day, one a page: a run may read only two pages.
    tally_has = TallySubmissions(
        {
            "oldest": at + timedelta(hours=1),
            "middle": at + timedelta(hours=2),
            "newest": at + timedelta(hours=3),
        },
        per_page=1,
    )
    with respx.mock(base_url=TALLY) as tally:
        tally.get(f"/forms/{pf.SUPPORT_FORM_ID}/submissions").mock(side_effect=tally_has)
        monkeypatch.setattr(reconcile, "SUBMISSION_MAX_PAGES", 2)
        first = reconcile.reconcile_mapping(mapping)
        assert (first.ingested, first.caught_up) == (2, False)
        assert ingested_ids() == {"middle", "newest"}
        assert Endpoint.objects.get().reconcile_since is None  # held before the first day

        monkeypatch.setattr(reconcile, "SUBMISSION_MAX_PAGES", 20)
        second = reconcile.reconcile_mapping(mapping)

    # The next run reads that day again, so the submission no run had read yet arrives.
    assert (second.ingested, second.duplicates, second.caught_up) == (1, 2, True)
    assert ingested_ids() == {"oldest", "middle", "newest"}
    assert timezone.now() - Endpoint.objects.get().reconcile_since < timedelta(minutes=1)


def test_submissions_listed_outside_the_dates_asked_fail_the_check_and_launch_nothing_old(
    mapping,
):
    pf.endpoint_for(mapping)
    at = created(days_ago=1).created_at
    tally_has = TallySubmissions(
        {"long-before": at - timedelta(days=30), "after": at + timedelta(hours=2)},
        ignore_dates=True,
    )
    with respx.mock(base_url=TALLY) as tally:
        tally.get(f"/forms/{pf.SUPPORT_FORM_ID}/submissions").mock(side_effect=tally_has)
        result = reconcile.reconcile_mapping(mapping)

    assert result.ingested == 1 and ingested_ids() == {"after"}
    check = contract.check_get(mapping.tally_connection, contract.SUBMISSION_WINDOWS)
    assert check.state == "failed"
    assert "outside the dates asked" in check.detail and "long-before" in check.detail


def test_an_event_log_tally_does_not_have_still_lets_reconcile_catch_up(mapping):
    pf.endpoint_for(mapping, webhook_id="wh1")
    at = created(days_ago=1).created_at
    tally_has = TallySubmissions({"missed": at + timedelta(hours=2)})
    with respx.mock(base_url=TALLY) as tally:
        tally.get("/webhooks/wh1/events").respond(404, json={"message": "Not found"})
        tally.get(f"/forms/{pf.SUPPORT_FORM_ID}/submissions").mock(side_effect=tally_has)
        result = reconcile.reconcile_mapping(mapping)

    assert result.ingested == 1 and ingested_ids() == {"missed"}
    check = contract.check_get(mapping.tally_connection, contract.EVENT_LOG)
    assert check.state == "failed" and check.detail.startswith("Tally answered 404")


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


# --- Webhook presence ---------------------------------------------------------------------


def hook(hook_id, enabled=True):
    return {"id": hook_id, "formId": pf.SUPPORT_FORM_ID, "url": "https://k/x", "isEnabled": enabled}


def test_webhook_presence_reads_every_page_of_tallys_list(mapping):
    pf.endpoint_for(mapping, webhook_id="wh-on-page-2")
    with respx.mock(base_url=TALLY) as tally:
        tally.get("/webhooks", params={"page": "1"}).respond(
            200, json={"webhooks": [hook("other")], "page": 1, "hasMore": True}
        )
        tally.get("/webhooks", params={"page": "2"}).respond(
            200, json={"webhooks": [hook("wh-on-page-2")], "page": 2, "hasMore": False}
        )
        assert webhooks.webhooks_check_presence() == {"present": 1}
    assert Endpoint.objects.get().webhook_state == "present"


def test_a_webhook_list_tally_refuses_marks_nothing_missing(mapping):
    pf.endpoint_for(mapping, webhook_id="wh1")
    Endpoint.objects.update(webhook_state="present")
    with respx.mock(base_url=TALLY) as tally:
        tally.get("/webhooks").respond(503, json={"message": "Down for maintenance"})
        assert webhooks.webhooks_check_presence() == {}
    assert Endpoint.objects.get().webhook_state == "present"
    assert contract.check_state(mapping.tally_connection, contract.WEBHOOK_PRESENT) == ""


def test_the_webhook_check_runs_every_15_minutes_beside_reconcile(settings):
    beat = settings.CELERY_BEAT_SCHEDULE
    assert beat["check-webhooks"] == {"task": "integrations.check_webhooks", "schedule": 900.0}
    assert beat["reconcile-enabled-mappings"]["schedule"] == 900.0


def test_a_webhook_seen_missing_is_not_asked_for_its_log_and_reconcile_catches_up(mapping):
    pf.endpoint_for(mapping, webhook_id="wh-deleted")
    Endpoint.objects.update(webhook_state="missing")
    at = created(days_ago=1).created_at
    tally_has = TallySubmissions({"missed": at + timedelta(hours=2)})
    with respx.mock(base_url=TALLY, assert_all_called=False) as tally:
        log = tally.get("/webhooks/wh-deleted/events").respond(404, json={"message": "Not found"})
        tally.get(f"/forms/{pf.SUPPORT_FORM_ID}/submissions").mock(side_effect=tally_has)
        result = reconcile.reconcile_mapping(mapping)

    assert result.ingested == 1 and log.call_count == 0
    assert contract.check_state(mapping.tally_connection, contract.EVENT_LOG) == ""
