"""The Deliveries list as a triage list: one line per delivery saying when, about whom,
which mapping, what state and why; #id and error-text search; retrying the ticked rows
(once, however often the button is pressed); the new-deliveries count and the chips' counts
that keep an open list true."""

import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import AuditEvent, Delivery, Mapping
from integrations.selectors.deliveries import encode_cursor
from tests import pipeline_factories as pf

from .test_views import make

URL = "/deliveries/"
HX = {"HTTP_HX_REQUEST": "true"}


def row_html(html: str, pk: int) -> str:
    return html.split(f'<tr id="delivery-{pk}"', 1)[1].split("</tr>", 1)[0]


def test_a_row_says_when_about_whom_which_mapping_what_state_and_why(staff_client, mapping):
    d = make(mapping, email="maria.rivera@acme.example")
    Delivery.objects.filter(pk=d.pk).update(last_error="Tallyfy answered 500: upstream down")

    row = row_html(staff_client.get(URL).content.decode(), d.pk)

    assert f">#{d.pk}</a>" in row
    assert "5\xa0minutes ago" in row  # relative, the exact time and zone on hover:
    stamp = timezone.localtime(d.created_at).strftime("%Y-%m-%d %H:%M:%S")
    assert f'title="{stamp} UTC"' in row
    assert "maria.rivera@acme.example" in row
    assert mapping.name in row
    assert '<span class="badge bad">Failed</span>' in row
    assert "500</span> Tallyfy answered 500: upstream down" in row
    assert ">Retry</button>" in row
    assert f'name="ids" value="{d.pk}" form="retry-selection"' in row


def test_without_an_email_answer_the_row_names_the_submission(staff_client, mapping):
    data = pf.envelope(form_id=mapping.form_id, fields=[])
    [d] = pf.ingest(mapping, data)

    row = row_html(staff_client.get(URL).content.decode(), d.pk)

    assert f'<span class="mono">{d.submission.submission_id}</span>' in row


def test_a_task_completion_row_is_marked_as_one(staff_client, mapping):
    Mapping.objects.filter(pk=mapping.pk).update(kind="complete_task", step_name="Approve")
    d = make(mapping)

    row = row_html(staff_client.get(URL).content.decode(), d.pk)

    assert '<span class="kind-tag">task</span>' in row
    assert "completes “Approve”" in row


def test_a_retrying_row_counts_down_to_its_next_try_and_asks_for_itself_then(staff_client, mapping):
    d = make(mapping, status="retrying")
    due = timezone.now() + timedelta(seconds=25)
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=due)

    row = row_html(staff_client.get(URL).content.decode(), d.pk)

    stamp = row.split('data-due="', 1)[1].split('"', 1)[0]
    assert abs((datetime.fromisoformat(stamp) - due).total_seconds()) < 1
    assert re.search(r">next try in 2[45] s</span>", row)  # not "0 minutes"
    assert 'hx-trigger="due"' in row and "data-live" in row


def test_viewers_see_no_selection_boxes(client, viewer, mapping):
    make(mapping)
    client.force_login(viewer)

    html = client.get(URL).content.decode()

    assert 'class="row-select"' not in html and "Retry selected" not in html


# --- search ------------------------------------------------------------------------------


def test_hash_id_finds_that_delivery(staff_client, mapping):
    wanted, other = make(mapping), make(mapping)

    html = staff_client.get(URL, {"q": f"#{wanted.pk}"}).content.decode()

    assert f'id="delivery-{wanted.pk}"' in html and f'id="delivery-{other.pk}"' not in html


def test_error_text_is_searchable(staff_client, mapping):
    broken = make(mapping)
    Delivery.objects.filter(pk=broken.pk).update(
        last_error="Tallyfy answered 422: assignee maria is not a member"
    )
    other = make(mapping)  # "Tallyfy answered 500"

    html = staff_client.get(URL, {"q": "not a member"}).content.decode()

    assert f'id="delivery-{broken.pk}"' in html and f'id="delivery-{other.pk}"' not in html
    assert "Error text is searched among the newest" in html
    failed = html.split('data-status="failed"', 1)[1].split("</a>", 1)[0]
    assert "<strong>1</strong>" in failed  # the chips count what the search found


def test_an_email_search_does_not_read_error_text(staff_client, mapping):
    d = make(mapping)
    Delivery.objects.filter(pk=d.pk).update(last_error="owner zoe@example.com left the org")

    html = staff_client.get(URL, {"q": "zoe@example.com"}).content.decode()

    assert f'id="delivery-{d.pk}"' not in html


# --- retry the selection -----------------------------------------------------------------


def test_retry_selected_retries_each_ticked_row_once_however_often_pressed(
    staff_client, mapping, sent, django_capture_on_commit_callbacks
):
    a, b = make(mapping), make(mapping, status="held")
    done = make(mapping, status="succeeded")
    url = reverse("dashboard:deliveries_retry_selected")
    ids = {"ids": [a.pk, b.pk, done.pk]}

    with django_capture_on_commit_callbacks(execute=True):
        first = staff_client.post(url, ids, **HX)
    with django_capture_on_commit_callbacks(execute=True):
        second = staff_client.post(url, ids, **HX)

    assert sorted(args[0] for args in sent["retry"]) == [a.pk, b.pk]  # once each
    assert "2 deliveries are being retried; 1 skipped" in first.headers["HX-Trigger"]
    assert "Nothing to retry" in second.headers["HX-Trigger"]
    assert Delivery.objects.get(pk=done.pk).status == "succeeded"
    assert AuditEvent.objects.filter(action="delivery.retried").count() == 2
    # The answer is the list again, the retried rows pending (and polling).
    assert f'<tr id="delivery-{a.pk}" class="delivery-row status-pending"' in first.text


def test_retry_selected_without_htmx_goes_back_to_the_same_filter(
    staff_client, mapping, sent, django_capture_on_commit_callbacks
):
    a = make(mapping)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("dashboard:deliveries_retry_selected") + "?status=failed", {"ids": [a.pk]}
        )

    assert response.status_code == 302 and response.url == f"{URL}?status=failed"
    assert len(sent["retry"]) == 1


def test_viewers_cannot_retry_a_selection(client, viewer, mapping, sent):
    a = make(mapping)
    client.force_login(viewer)

    response = client.post(reverse("dashboard:deliveries_retry_selected"), {"ids": [a.pk]})

    assert response.status_code == 403 and sent["retry"] == []


# --- an open list stays true -------------------------------------------------------------


def test_the_new_deliveries_count_starts_from_the_first_row(staff_client, mapping):
    first = make(mapping, ago=timedelta(minutes=5))
    since = encode_cursor(first.created_at, first.pk)
    url = reverse("dashboard:deliveries_newer")

    assert "new deliver" not in staff_client.get(url, {"since": since}, **HX).text

    make(mapping, ago=timedelta(seconds=1))
    make(mapping, status="succeeded", ago=timedelta(seconds=0))

    assert "2 new deliveries — show" in staff_client.get(url, {"since": since}, **HX).text
    only_failed = staff_client.get(url, {"since": since, "status": "failed"}, **HX).text
    assert "1 new delivery — show" in only_failed
    assert 'href="/deliveries/?status=failed"' in only_failed  # shows them under the filter


def test_the_page_polls_for_newer_rows_from_its_first_row(staff_client, mapping):
    older, newest = make(mapping, ago=timedelta(minutes=9)), make(mapping)

    html = staff_client.get(URL, {"status": "failed"}).content.decode()

    since = encode_cursor(newest.created_at, newest.pk)
    assert f'hx-get="/deliveries/newer/?status=failed&amp;since={since}"' in html
    assert older.pk != newest.pk


def test_the_chips_recount_on_request(staff_client, mapping):
    d = make(mapping)
    counts = {"part": "counts"}
    html = staff_client.get(URL, counts, **HX).text
    assert html.lstrip().startswith('<nav class="counts" id="status-counts"')
    assert "Failed <strong>1</strong>" in html

    Delivery.objects.filter(pk=d.pk).update(status=Delivery.Status.SUCCEEDED)

    html = staff_client.get(URL, counts, **HX).text
    assert "Failed <strong>0</strong>" in html and "Succeeded <strong>1</strong>" in html
    assert "part=counts" not in html.split('hx-trigger="refresh"', 1)[1]  # chips link plainly


@pytest.mark.parametrize("status", ["sending", "succeeded"])
def test_a_row_tells_the_page_its_status(staff_client, mapping, status):
    d = make(mapping, status=status)

    response = staff_client.get(reverse("dashboard:delivery_row", args=[d.pk]), **HX)

    assert (
        f'"delivery-row": {{"id": {d.pk}, "status": "{status}"}}' in response.headers["HX-Trigger"]
    )


@pytest.mark.parametrize(
    "q, reads_errors",
    [
        ("not a member", True),
        ("timeout", True),
        ("422", True),  # an HTTP status in the error
        ("#12", False),
        ("zoe@example.com", False),
        ("run12345", False),  # an id: exact look-ups only, the error window is not read
        ("a1b2c3d4e5f60718293a4b5c6d7e8f90", False),
    ],
)
def test_which_searches_read_error_text(q, reads_errors):
    from integrations.selectors.deliveries import DeliveryFilters

    assert DeliveryFilters(q=q).searches_errors is reads_errors


def test_no_selection_button_when_no_row_shown_can_be_retried(staff_client, mapping):
    make(mapping, status="succeeded")
    assert "Retry selected" not in staff_client.get(URL).text

    make(mapping)
    assert "Retry selected" in staff_client.get(URL).text
