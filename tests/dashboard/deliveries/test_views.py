"""The Deliveries pages: list, filters, search, delivery page, retry in place, cancel, bulk
retry with progress and cancel, recover, CSV, Tally's log, and who may do what."""

import csv
import io
from datetime import timedelta

import pytest
import respx
from django.urls import reverse
from django.utils import timezone

from integrations import retries
from integrations.models import AuditEvent, BulkRetry, Delivery, DeliveryAttempt
from tests import pipeline_factories as pf


def make(mapping, status="failed", ago=timedelta(minutes=5), **fields):
    data = pf.envelope(
        form_id=mapping.form_id, fields=pf.support_fields(**fields) if fields else None
    )
    [d] = pf.ingest(mapping, data)
    if status != "pending":
        DeliveryAttempt.objects.create(
            delivery=d,
            number=1,
            mapping_version=d.mapping_version,
            outcome="failed",
            response_status=500,
            error_kind="unavailable",
            error_message="Tallyfy answered 500",
            finished_at=timezone.now(),
            duration_ms=120,
            request_body={"name": "Ticket"},
        )
    Delivery.objects.filter(pk=d.pk).update(
        status=status,
        created_at=timezone.now() - ago,
        attempt_count=1,
        last_error="Tallyfy answered 500" if status == "failed" else "",
        last_status_code=500,
    )
    d.refresh_from_db()
    return d


URL = "/deliveries/"


def test_the_list_is_named_deliveries_in_the_dashboard_namespace():
    assert reverse("dashboard:deliveries") == URL


def test_staff_see_rows_with_form_mapping_status_tries_error_and_run_link(staff_client, mapping):
    failed = make(mapping)
    ok = make(mapping, status="succeeded")
    Delivery.objects.filter(pk=ok.pk).update(run_url="https://app.tallyfy.test/x/processes/r1")

    html = staff_client.get(URL).content.decode()

    assert f'id="delivery-{failed.pk}"' in html and f'id="delivery-{ok.pk}"' in html
    assert "Support intake" in html and mapping.name in html
    assert "Tallyfy answered 500" in html
    assert "https://app.tallyfy.test/x/processes/r1" in html
    assert html.count(">Retry</button>") == 1  # only the failed row
    assert 'data-status="failed"' in html


def test_filters_live_in_the_url_and_htmx_gets_only_the_results(staff_client, mapping):
    failed = make(mapping)
    ok = make(mapping, status="succeeded")

    response = staff_client.get(
        URL, {"status": "failed"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )

    html = response.content.decode()
    assert "<html" not in html
    assert f'id="delivery-{failed.pk}"' in html and f'id="delivery-{ok.pk}"' not in html


def test_an_invalid_filter_is_shown_and_ignored(staff_client, mapping):
    make(mapping)
    html = staff_client.get(
        URL, {"status": "bogus", "date_from": "2025-05-02", "date_to": "2025-05-01"}
    ).content.decode()
    assert "Select a valid choice" in html and "before the start date" in html


def test_search_by_answer_text(staff_client, mapping):
    hit = make(mapping, email="x@example.com", problem="The scanner smokes")
    miss = make(mapping)
    html = staff_client.get(URL, {"q": "scanner"}).content.decode()
    assert f'id="delivery-{hit.pk}"' in html and f'id="delivery-{miss.pk}"' not in html


def test_older_deliveries_load_by_keyset(staff_client, mapping, monkeypatch):
    from integrations.selectors import deliveries as delivery_queries

    monkeypatch.setattr(delivery_queries, "PAGE_SIZE", 2)
    made = [make(mapping, ago=timedelta(minutes=i)) for i in range(3)]
    first = staff_client.get(URL).content.decode()
    assert "Older deliveries" in first and f'id="delivery-{made[2].pk}"' not in first
    cursor = first.split("after=")[1].split('"')[0]

    more = staff_client.get(
        URL, {"after": cursor}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="older-row"
    ).content.decode()

    assert f'id="delivery-{made[2].pk}"' in more and "Older deliveries" not in more


def test_the_list_takes_a_bounded_number_of_queries(
    staff_client, mapping, django_assert_max_num_queries
):
    for i in range(25):
        make(mapping, status="failed" if i % 2 else "succeeded")
    with django_assert_max_num_queries(19):  # one capped count per status chip
        assert staff_client.get(URL, {"mapping": mapping.pk, "preset": "7d"}).status_code == 200


def test_retry_swaps_the_row_in_place_and_queues_one_try(
    staff_client, mapping, sent, operator, django_capture_on_commit_callbacks
):
    d = make(mapping)
    url = reverse("dashboard:delivery_retry", args=[d.pk])

    with django_capture_on_commit_callbacks(execute=True):
        first = staff_client.post(url, {"version": "original"}, HTTP_HX_REQUEST="true")
    with django_capture_on_commit_callbacks(execute=True):
        second = staff_client.post(url, {"version": "original"}, HTTP_HX_REQUEST="true")

    html = first.content.decode()
    assert html.lstrip().startswith(f'<tr id="delivery-{d.pk}"') and "Pending" in html
    assert 'hx-trigger="every 2s"' in html  # it polls until it settles
    assert "being retried" in first["HX-Trigger"]
    assert "nothing to retry" in second["HX-Trigger"]
    assert sent["retry"] == [(d.pk, "staff", operator.pk, False)]
    assert AuditEvent.objects.filter(action="delivery.retried").count() == 1


def test_retry_without_javascript_redirects_back(staff_client, mapping):
    d = make(mapping)
    response = staff_client.post(
        reverse("dashboard:delivery_retry", args=[d.pk]), {"next": "/deliveries/?status=failed"}
    )
    assert response.status_code == 302 and response["Location"] == "/deliveries/?status=failed"


def test_retry_refuses_an_unsafe_next(staff_client, mapping):
    d = make(mapping)
    response = staff_client.post(
        reverse("dashboard:delivery_retry", args=[d.pk]), {"next": "https://evil.test/"}
    )
    assert response["Location"] == f"/deliveries/{d.pk}/"


def test_retry_is_post_only(staff_client, mapping):
    d = make(mapping)
    assert staff_client.get(reverse("dashboard:delivery_retry", args=[d.pk])).status_code == 405


def test_the_delivery_page_shows_answers_payload_version_and_attempts(staff_client, mapping):
    d = make(mapping, email="ria@example.com", problem="Export broken")

    html = staff_client.get(reverse("dashboard:delivery_detail", args=[d.pk])).content.decode()

    assert "Export broken" in html and "ria@example.com" in html  # answers resolved
    assert "Bug" in html  # an option id shown as its text
    assert "&quot;eventType&quot;: &quot;FORM_RESPONSE&quot;" in html  # pretty raw payload
    assert 'data-copy-target="#raw-payload"' in html
    assert "version 1" in html and reverse("dashboard:mapping_detail", args=[mapping.pk]) in html
    assert "Try 1" in html and "120 ms" in html and "Automatic" in html
    assert "Tallyfy answered 500" in html
    assert ">Retry</button>" in html


def test_the_delivery_page_refreshes_its_live_part_until_the_delivery_settles(
    staff_client, mapping
):
    d = make(mapping, status="sending")
    url = reverse("dashboard:delivery_detail", args=[d.pk])
    polls = f'hx-get="{url}" hx-trigger="every 2s" hx-target="#delivery-live"'
    live = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "delivery-live"}

    page = staff_client.get(url).content.decode()
    assert '<div id="delivery-live">' in page and polls in page

    in_flight = staff_client.get(url, **live).content.decode()
    assert "<html" not in in_flight and "Submission" not in in_flight  # the live part only
    assert polls in in_flight and "Sending" in in_flight

    Delivery.objects.filter(pk=d.pk).update(
        status=Delivery.Status.SUCCEEDED, run_url="https://go.tallyfy.test/org/processes/r9"
    )
    settled = staff_client.get(url, **live).content.decode()
    assert "<html" not in settled and "Succeeded" in settled
    assert "https://go.tallyfy.test/org/processes/r9" in settled
    assert "hx-trigger" not in settled  # settled: the page stops asking


def test_the_delivery_page_offers_cancel_for_a_scheduled_retry(staff_client, mapping):
    d = make(mapping, status="retrying")
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=10))
    url = reverse("dashboard:delivery_detail", args=[d.pk])
    assert "Cancel next try" in staff_client.get(url).content.decode()

    response = staff_client.post(
        reverse("dashboard:delivery_cancel_next", args=[d.pk]), HTTP_HX_REQUEST="true"
    )

    assert (
        "Cancelled" in response.content.decode() and ">Retry</button>" in response.content.decode()
    )
    assert Delivery.objects.get(pk=d.pk).status == "cancelled"


def test_a_retry_from_the_delivery_page_can_use_the_current_version(
    staff_client, mapping, sent, operator, django_capture_on_commit_callbacks
):
    d = make(mapping)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("dashboard:delivery_retry", args=[d.pk]),
            {"version": "current", "from": "detail"},
            HTTP_HX_REQUEST="true",
        )
    assert "Working on it" in response.content.decode()
    assert sent["retry"] == [(d.pk, "staff", operator.pk, True)]


def test_the_delivery_page_takes_a_bounded_number_of_queries(
    staff_client, mapping, django_assert_max_num_queries
):
    d = make(mapping)
    with django_assert_max_num_queries(12):
        staff_client.get(reverse("dashboard:delivery_detail", args=[d.pk]))


def test_csv_export_streams_the_filtered_deliveries(staff_client, mapping):
    make(mapping)
    make(mapping, status="succeeded")
    Delivery.objects.filter(status="failed").update(last_error="=HYPERLINK(1)\nline two")

    response = staff_client.get(reverse("dashboard:deliveries_export"), {"status": "failed"})

    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "delivery_id" and len(rows) == 2
    assert rows[1][9] == "failed" and rows[1][12] == "'=HYPERLINK(1) line two"


# --- bulk ----------------------------------------------------------------------------------


def test_retry_all_shows_the_count_then_confirms_then_shows_progress(
    staff_client, mapping, sent, django_capture_on_commit_callbacks
):
    for _ in range(3):
        make(mapping)
    make(mapping, status="succeeded")
    url = reverse("dashboard:deliveries_bulk_retry")

    confirm = staff_client.get(url, {"mapping": mapping.pk}).content.decode()
    assert '<strong id="bulk-count">3</strong>' in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"mapping": mapping.pk, "version": "original"})

    job = BulkRetry.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/deliveries/bulk/{job.pk}/"
    assert job.total == 3 and job.filters == {"mapping": str(mapping.pk)}
    assert sent["step"] == [(job.pk,)] and sent["retry"] == []
    progress_url = reverse("dashboard:deliveries_bulk", args=[job.pk])
    page = staff_client.get(progress_url).content.decode()
    assert 'hx-trigger="every 2s"' in page and "0</strong> of <strong>3" in page

    retries.bulk_retry_step(job.pk, batch=2)
    partial = staff_client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "2</strong> of <strong>3" in partial and "66%" in partial

    cancelled = staff_client.post(
        reverse("dashboard:deliveries_bulk_cancel", args=[job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Cancelled" in cancelled and 'hx-trigger="every 2s"' not in cancelled
    assert BulkRetry.objects.get().status == "cancelled"


def test_recover_since_counts_then_starts_a_bulk_retry(staff_client, mapping, sent):
    make(mapping, ago=timedelta(days=3))
    make(mapping, ago=timedelta(hours=2))
    since = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    url = reverse("dashboard:deliveries_recover")

    assert (
        '<strong id="recover-count">1</strong>'
        in staff_client.get(url, {"since": since}).content.decode()
    )
    response = staff_client.post(url, {"since": since})

    assert response.status_code == 302 and BulkRetry.objects.get().total == 1


# --- Tally's side ----------------------------------------------------------------------------


def test_tallys_log_page_lists_events_with_redeliver(staff_client, mapping, settings):
    settings.TALLY_API_BASE_URL = "https://tally.test"
    pf.endpoint_for(mapping, webhook_id="wh1")
    event = {
        "id": "ev1",
        "webhookId": "wh1",
        "eventType": "FORM_RESPONSE",
        "deliveryStatus": "DROPPED",
        "statusCode": 500,
        "retry": 5,
        "createdAt": "2025-03-04T10:15:00.000Z",
        "payload": pf.envelope(submission_id="lost1"),
    }
    with respx.mock(base_url="https://tally.test") as tally:
        tally.get("/webhooks/wh1/events").respond(200, json={"events": [event], "hasMore": False})
        html = staff_client.get(
            reverse("dashboard:mapping_tally_log", args=[mapping.pk])
        ).content.decode()
        route = tally.post("/webhooks/wh1/events/ev1").respond(200, json={})
        response = staff_client.post(
            reverse("dashboard:mapping_tally_redeliver", args=[mapping.pk, "ev1"]),
            HTTP_HX_REQUEST="true",
        )

    assert "DROPPED" in html and "Missing" in html and ">Redeliver</button>" in html
    assert route.call_count == 1 and "Redelivery requested" in response.content.decode()


# --- who may do what ---------------------------------------------------------------------------


def test_viewers_see_deliveries_but_no_retry_buttons(client, viewer, mapping):
    d = make(mapping)
    client.force_login(viewer)
    html = client.get(URL).content.decode()
    assert f'id="delivery-{d.pk}"' in html and ">Retry</button>" not in html
    assert "Retry all matching" not in html
    detail = client.get(reverse("dashboard:delivery_detail", args=[d.pk])).content.decode()
    assert ">Retry</button>" not in detail


@pytest.mark.parametrize(
    "name,args",
    [
        ("delivery_retry", "d"),
        ("delivery_cancel_next", "d"),
        ("deliveries_bulk_retry", None),
        ("deliveries_recover", None),
        ("deliveries_bulk_cancel", "job"),
        ("mapping_tally_redeliver", "event"),
    ],
)
def test_viewers_cannot_retry_cancel_or_redeliver(client, viewer, mapping, sent, name, args):
    d = make(mapping)
    job = BulkRetry.objects.create(description="x", total=1)
    arg = {"d": [d.pk], "job": [job.pk], "event": [mapping.pk, "ev1"], None: []}[args]
    client.force_login(viewer)
    since = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(reverse(f"dashboard:{name}", args=arg), {"since": since})

    assert response.status_code == 403
    assert Delivery.objects.get(pk=d.pk).status == "failed"
    assert BulkRetry.objects.get(pk=job.pk).status == "running"
    assert BulkRetry.objects.count() == 1


@pytest.mark.parametrize("path", ["/deliveries/", "/deliveries/1/", "/deliveries/export.csv"])
def test_outsiders_and_anonymous_see_nothing(client, outsider, path):
    assert client.get(path).status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.get(path).status_code == 403
