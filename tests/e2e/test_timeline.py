"""A delivery's timeline in the browser: Cancel the scheduled retry, then Retry — the
timeline, the heading and the status card agree at every step without a reload; the
Copy buttons beside a try's request and response copy them."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations import tasks
from integrations.models import Delivery, DeliveryAttempt
from tests import pipeline_factories as pf


@pytest.fixture
def retry_queue(monkeypatch):
    sent = []
    monkeypatch.setattr(
        tasks.retry_delivery, "apply_async", lambda args=(), **kw: sent.append(args)
    )
    return sent


@pytest.fixture
def scheduled(live_kickoff, operator):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    [d] = pf.ingest(mapping, pf.envelope(form_id=mapping.form_id))
    DeliveryAttempt.objects.create(
        delivery=d,
        number=1,
        mapping_version=d.mapping_version,
        outcome="retry",
        response_status=503,
        response_body='{"error": "Service Unavailable"}',
        error_kind="unavailable",
        error_message="Tallyfy 503: Service Unavailable",
        finished_at=timezone.now(),
        duration_ms=240,
        request_body={"name": "Ticket from ria@example.com", "checklist_id": "tpl1"},
    )
    Delivery.objects.filter(pk=d.pk).update(
        status="retrying",
        attempt_count=1,
        last_error="Tallyfy 503: Service Unavailable",
        last_status_code=503,
        next_attempt_at=timezone.now() + timedelta(minutes=10),
    )
    return d


def badges(page):
    """Every badge on the page that speaks of the delivery or a try, as text."""
    return page.locator("#delivery-state, .status-big, #timeline .badge").all_inner_texts()


def test_cancel_then_retry_keeps_the_timeline_and_every_badge_in_agreement(
    signed_in_page, live_kickoff, scheduled, retry_queue, screenshot
):
    page, d = signed_in_page, scheduled
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_kickoff}/deliveries/{d.pk}/")
    try_1 = page.locator("#try-1 .badge")
    heading = page.locator("h1 #delivery-state")
    expect(try_1).to_have_text("Will retry")
    expect(heading).to_have_text("Retrying")
    expect(page.locator("#last-error")).to_contain_text("Tallyfy was unavailable (HTTP 503)")
    screenshot(page, "timeline-1-scheduled")
    page.evaluate("window.notReloaded = true")

    page.get_by_role("button", name="Cancel next try").click()
    expect(heading).to_have_text("Cancelled")
    expect(try_1).to_have_text("Failed · retry cancelled")
    expect(page.locator("#timeline")).to_contain_text("Scheduled retry cancelled")
    assert not any("Will retry" in b or "Retrying" in b for b in badges(page))
    screenshot(page, "timeline-2-cancelled")

    page.locator(".status-actions").get_by_role("button", name="Retry", exact=True).click()
    expect(heading).to_have_text("Pending")
    expect(page.locator(".status-big .badge")).to_have_text("Pending")
    expect(try_1).to_have_text("Failed · retrying now")
    entries = page.locator("#timeline > li .attempt-head strong")
    expect(entries).to_have_text(
        [
            "Received from Tally",
            "Try 1",
            "Scheduled retry cancelled",
            "Retried with the version it used",
            "Waiting for a worker",
        ]
    )
    assert len(retry_queue) == 1
    assert page.evaluate("window.notReloaded") is True

    page.locator("#try-1 summary", has_text="Request and response").click()
    page.locator('[data-copy-target="#try-1-request"]').click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert json.loads(copied)["name"] == "Ticket from ria@example.com"
    page.locator('[data-copy-target="#try-1-response"]').click()
    expect(page.locator('[data-copy-target="#try-1-response"]')).to_have_text("Copied")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == {
        "error": "Service Unavailable"
    }
    screenshot(page, "timeline-3-retried")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "timeline-4-phone")
