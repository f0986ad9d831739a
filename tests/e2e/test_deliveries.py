"""A staff member watches a delivery fail on the Deliveries page while the sandbox Tallyfy
is down, and fixes it with Retry once it is back: one run, with its link."""

import httpx
import pytest
from playwright.sync_api import expect

from integrations import tasks
from integrations.mappings import mapping_enable
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
def mapping(sandbox_seeded, live_kickoff, operator, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    # One immediate retry, then (a 5xx leaves the outcome unknown) the pipeline's last
    # look-ups for the run, then failed: no waiting in a test.
    settings.DELIVERY_RETRY_SCHEDULE = [0]
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    mapping_enable(mapping, actor=operator)  # registers the signed webhook at the sandbox Tally
    return mapping


def submit(base, email):
    httpx.post(
        f"{base}/sandbox/tally/control/forms/{pf.SUPPORT_FORM_ID}/submissions",
        json={
            "answers": {
                "Your email": email,
                "Category": "Bug",
                "Describe the problem": "The export is broken",
            },
            "deliver": True,
        },
        timeout=20,
    ).raise_for_status()


def failed_while_tallyfy_is_down(base, task_queue) -> Delivery:
    """A delivery that failed on Tallyfy's 500s; Tallyfy still answers 500 to launches."""
    # A first launch goes through, and Kickoff finds its run again by its reference: from
    # then on a 5xx whose run is not found is safe to launch again.
    submit(base, "first@example.com")
    task_queue.drain()
    faults = f"{base}/sandbox/tallyfy/control/faults"
    httpx.post(faults, json={"kind": "500", "count": 20, "scope": "launch"}).raise_for_status()
    submit(base, "ria@example.com")
    task_queue.drain()  # the worker's tries meet Tallyfy's 500s, then it gives up
    delivery = Delivery.objects.latest("pk")
    assert delivery.status == Delivery.Status.FAILED
    return delivery


def test_a_failed_delivery_is_fixed_with_retry_and_shows_its_run(
    signed_in_page, live_kickoff, mapping, task_queue, retry_queue, screenshot
):
    page, base = signed_in_page, live_kickoff
    faults = f"{base}/sandbox/tallyfy/control/faults"
    delivery = failed_while_tallyfy_is_down(base, task_queue)

    page.goto(f"{base}/deliveries/")
    row = page.locator(f"#delivery-{delivery.pk}")
    expect(row.locator(".badge")).to_have_text("Failed")
    expect(row.locator(".last-error .one-line")).to_be_visible()  # why, in one line
    expect(page.locator('[data-status="failed"]')).to_contain_text("1")
    screenshot(page, "deliveries-1-failed")

    httpx.delete(faults).raise_for_status()
    row.get_by_role("button", name="Retry").click()
    expect(row.locator(".badge")).to_have_text("Pending")
    expect(page.locator("#toasts")).to_contain_text("being retried")
    assert len(retry_queue) == 1
    for args in retry_queue:  # what the worker does with the retry
        tasks.retry_delivery.run(*args)

    expect(row.locator(".badge")).to_have_text("Succeeded", timeout=10_000)  # the row polls
    link = row.get_by_role("link", name="Open run ↗")
    expect(link).to_be_visible()
    screenshot(page, "deliveries-2-retried")

    delivery.refresh_from_db()
    assert delivery.run_url and link.get_attribute("href") == delivery.run_url
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert attempts[0].trigger == "auto" and attempts[0].response_status == 500
    assert [(a.trigger, a.outcome) for a in attempts[-1:]] == [("staff", "succeeded")]
    runs = httpx.get(f"{base}/sandbox/tallyfy/control/runs", timeout=20).json()["data"]
    assert [r["id"] for r in runs if delivery.marker in (r["summary"] or "")] == [delivery.run_id]

    row.get_by_role("link", name=f"#{delivery.pk}", exact=True).click()
    expect(page.locator("#timeline li.tl-attempt")).to_have_count(len(attempts))
    expect(page.locator(".run-link")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Staff retry by olivia")
    expect(page.locator("#timeline")).to_contain_text("HTTP 500")
    screenshot(page, "deliveries-3-delivery-page")

    page.goto(delivery.run_url)
    expect(page.get_by_role("heading", name="Ticket from ria@example.com")).to_be_visible()


def test_retry_on_the_delivery_page_updates_its_heading_without_a_reload(
    signed_in_page, live_kickoff, mapping, task_queue, retry_queue, screenshot
):
    page, base = signed_in_page, live_kickoff
    delivery = failed_while_tallyfy_is_down(base, task_queue)
    httpx.delete(f"{base}/sandbox/tallyfy/control/faults").raise_for_status()

    page.goto(f"{base}/deliveries/{delivery.pk}/")
    heading = page.locator("h1 #delivery-state")
    expect(heading).to_have_text("Failed")
    page.evaluate("window.notReloaded = true")
    page.locator(".status-actions").get_by_role("button", name="Retry").click()
    expect(heading).to_have_text("Pending")
    for args in retry_queue:  # what the worker does with the retry
        tasks.retry_delivery.run(*args)

    expect(heading).to_have_text("Succeeded", timeout=10_000)  # the live part polls
    expect(page.locator(".status-big .badge")).to_have_text("Succeeded")
    expect(page.locator("#delivery-run-button a")).to_be_visible()
    expect(page.locator(".status-actions button")).to_have_count(0)  # nothing to retry
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "deliveries-4-retried-in-place")
