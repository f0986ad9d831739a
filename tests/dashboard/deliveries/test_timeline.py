"""The delivery page tells one story: received → each try → staff actions → now, with
every badge agreeing; errors in words with the next step; Retry now; links both ways."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.models import AuditEvent, Delivery, DeliveryAttempt, MappingVersion
from tests import pipeline_factories as pf

LIVE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "delivery-live"}


def scheduled(mapping, *, kind="unavailable", message="Tallyfy 503: Service Unavailable"):
    """A delivery whose first try failed on a 503 and whose next try is scheduled."""
    [d] = pf.ingest(mapping, pf.envelope(form_id=mapping.form_id))
    started = timezone.now() - timedelta(minutes=2)
    DeliveryAttempt.objects.create(
        delivery=d,
        number=1,
        mapping_version=d.mapping_version,
        outcome="retry",
        response_status=503,
        response_body='{"error": "down"}',
        error_kind=kind,
        error_message=message,
        started_at=started,
        finished_at=started,
        request_body={"name": "Ticket"},
    )
    Delivery.objects.filter(pk=d.pk).update(
        status="retrying",
        attempt_count=1,
        last_error=message,
        last_status_code=503,
        next_attempt_at=timezone.now() + timedelta(minutes=10),
    )
    return d


def failed(mapping, *, kind, message, status=None, sent=True):
    [d] = pf.ingest(mapping, pf.envelope(form_id=mapping.form_id))
    DeliveryAttempt.objects.create(
        delivery=d,
        number=1,
        mapping_version=d.mapping_version,
        outcome="failed",
        response_status=status,
        error_kind=kind,
        error_message=message,
        finished_at=timezone.now(),
        request_body={"name": "Ticket", "prerun": {}},
    )
    Delivery.objects.filter(pk=d.pk).update(
        status="failed", attempt_count=1, last_error=message, last_status_code=status
    )
    return d


def entries(html):
    """The timeline as [(title, badge)], in page order."""
    timeline = html[html.index('id="timeline"') :]
    head = r'<div class="attempt-head"><strong>([^<]+)</strong>'
    badge = r'(?: <span class="badge [a-z]*">([^<]+)</span>)?'
    found = re.findall(head + badge, timeline)
    return [(title, badge) for title, badge in found]


def page(client, d):
    return client.get(reverse("dashboard:delivery_detail", args=[d.pk])).content.decode()


def test_a_scheduled_retry_reads_in_order_and_offers_retry_now(staff_client, mapping):
    d = scheduled(mapping)
    html = page(staff_client, d)

    assert entries(html) == [
        ("Received from Tally", ""),
        ("Try 1", "Will retry"),
        ("Next automatic try scheduled", "Retrying"),
    ]
    assert "Tallyfy was unavailable (HTTP 503); nothing was made." in html
    assert ">Retry now</button>" in html and ">Cancel next try</button>" in html


def test_after_cancel_no_badge_says_will_retry(staff_client, mapping):
    d = scheduled(mapping)

    html = staff_client.post(
        reverse("dashboard:delivery_cancel_next", args=[d.pk]), **LIVE
    ).content.decode()

    assert "Will retry" not in html and "Retrying" not in html
    assert entries(html) == [
        ("Received from Tally", ""),
        ("Try 1", "Failed · retry cancelled"),
        ("Scheduled retry cancelled", ""),
        ("Nothing is scheduled", "Cancelled"),
    ]
    assert "· olivia" in html  # who cancelled it
    assert '<span id="delivery-state" hx-swap-oob="true"><span class="badge ">Cancelled' in html


def test_after_retry_the_staff_action_and_the_waiting_try_follow(
    staff_client, mapping, sent, django_capture_on_commit_callbacks
):
    d = scheduled(mapping)
    staff_client.post(reverse("dashboard:delivery_cancel_next", args=[d.pk]), **LIVE)

    with django_capture_on_commit_callbacks(execute=True):
        html = staff_client.post(
            reverse("dashboard:delivery_retry", args=[d.pk]), {"from": "detail"}, **LIVE
        ).content.decode()

    assert [t for t, _ in entries(html)] == [
        "Received from Tally",
        "Try 1",
        "Scheduled retry cancelled",
        "Retried with the version it used",
        "Waiting for a worker",
    ]
    assert dict(entries(html))["Try 1"] == "Failed · retrying now"
    assert "Will retry" not in html and len(sent["retry"]) == 1


def test_retry_now_takes_a_scheduled_retry_at_once(
    staff_client, mapping, sent, operator, django_capture_on_commit_callbacks
):
    d = scheduled(mapping)

    with django_capture_on_commit_callbacks(execute=True):
        html = staff_client.post(reverse("dashboard:delivery_retry_now", args=[d.pk]), **LIVE)

    d.refresh_from_db()
    assert d.status == "pending"
    assert sent["retry"] == [(d.pk, "staff", operator.pk, False)]
    text = html.content.decode()
    assert "Retried now instead of waiting" in text and "Will retry" not in text
    assert AuditEvent.objects.filter(action="delivery.retried_now", object_id=str(d.pk)).exists()
    # The second click finds nothing scheduled and sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        again = staff_client.post(reverse("dashboard:delivery_retry_now", args=[d.pk]), **LIVE)
    assert "no retry was waiting" in again.headers["HX-Trigger"] and len(sent["retry"]) == 1


def test_retry_now_needs_an_operator_and_a_csrf_token(client, viewer, operator, mapping, sent):
    d = scheduled(mapping)
    url = reverse("dashboard:delivery_retry_now", args=[d.pk])
    client.force_login(viewer)
    assert client.post(url).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post(url).status_code == 403
    assert Delivery.objects.get(pk=d.pk).status == "retrying" and sent["retry"] == []


def test_a_check_that_failed_before_sending_says_not_sent(staff_client, mapping):
    d = failed(mapping, kind="validation", message="Requester email is required")

    html = page(staff_client, d)

    assert ("Try 1", "Not sent") in entries(html)
    assert "Nothing was sent to Tallyfy" in html
    assert '<h3 class="small">Sent</h3>' not in html and "try-1-request" not in html
    assert "This submission left Requester email empty" in html


def test_a_rejection_says_what_to_do_and_warns_that_the_same_version_fails_again(
    staff_client, mapping
):
    d = failed(
        mapping,
        kind="rejected",
        message="Requester email: The requester email field is required.",
        status=422,
    )

    html = page(staff_client, d)

    assert "Tallyfy refused to launch the process (HTTP 422): Requester email is required" in html
    assert "Next step:" in html and "retry with the current version" in html
    assert "Version 1 is still the current one: a retry without editing the mapping fails" in html

    newer = MappingVersion.objects.create(
        mapping=mapping, number=2, name_template="x", template_fields=[], form_questions=[]
    )
    mapping.current_version = newer
    mapping.save(update_fields=["current_version"])
    assert "still the current one" not in page(staff_client, d)


def test_a_transient_failure_has_no_same_version_warning(staff_client, mapping):
    d = failed(mapping, kind="unavailable", message="Tallyfy 503: down", status=503)
    html = page(staff_client, d)
    assert "still the current one" not in html and "Kickoff retries by itself" in html


def test_the_delivery_and_its_submission_link_to_each_other(staff_client, mapping, respx_mock):
    d = failed(mapping, kind="unavailable", message="Tallyfy 503: down", status=503)
    submission_url = reverse(
        "dashboard:submission",
        args=[mapping.tally_connection_id, mapping.form_id, d.submission.submission_id],
    )

    assert f'href="{submission_url}"' in page(staff_client, d)

    respx_mock.route().respond(404)  # Tally no longer has it: the stored copy is shown
    back = staff_client.get(submission_url).content.decode()
    assert f'href="{reverse("dashboard:delivery_detail", args=[d.pk])}"' in back


@pytest.fixture
def respx_mock():
    import respx

    with respx.mock(assert_all_called=False) as mock:
        yield mock
