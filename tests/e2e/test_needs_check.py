"""Staff answer a delivery that needs a check: Tallyfy's answer to a launch never came, the
sandbox Tallyfy keeps no summary and searches names only, so Kickoff cannot tell whether the
run exists. Once staff pick the run it is adopted; once they say none exists it launches."""

import httpx
import pytest
from playwright.sync_api import expect

from integrations import tasks
from integrations.connections import connection_call
from integrations.delivery import delivery_process
from integrations.mappings import mapping_enable
from integrations.models import Delivery
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
    base = live_kickoff
    switches = f"{base}/sandbox/tallyfy/control/switches"
    httpx.post(switches, json={"runs_search": "name_only", "summary": "dropped"}).raise_for_status()
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    mapping_enable(mapping, actor=operator)
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


def sandbox_runs(base):
    data = httpx.get(f"{base}/sandbox/tallyfy/control/runs", timeout=20).json()["data"]
    return [r for r in data if r["checklist_id"] == pf.SUPPORT_TRIAGE_ID]


def next_try(delivery):
    """Time passes: the delivery's next automatic try runs."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    delivery_process(delivery.pk)
    return Delivery.objects.get(pk=delivery.pk)


def unanswered_launch(base, task_queue, mapping, email):
    """Tallyfy makes the run but the connection drops before its answer, and a colleague
    launches the same process by hand: two runs alike, and no summary to tell them apart."""
    httpx.post(
        f"{base}/sandbox/tallyfy/control/faults", json={"kind": "drop", "count": 1}
    ).raise_for_status()
    submit(base, email)
    task_queue.drain()
    delivery = Delivery.objects.latest("pk")
    body = delivery.attempts.get().request_body
    connection_call(mapping.tallyfy_connection, lambda c: c.launch_run(body))
    return next_try(delivery)


def test_staff_pick_the_run_tallyfy_made_and_nothing_is_launched_again(
    signed_in_page, live_kickoff, mapping, task_queue, screenshot
):
    page, base = signed_in_page, live_kickoff
    delivery = unanswered_launch(base, task_queue, mapping, "ria@example.com")
    assert delivery.status == Delivery.Status.NEEDS_CHECK
    made, _by_hand = sorted(sandbox_runs(base), key=lambda r: r["created_at"])

    page.goto(f"{base}/")
    expect(page.locator("#needs-check-banner")).to_contain_text("1 delivery needs a check")
    page.locator("#needs-check-banner").get_by_role("link", name="Review it").click()
    page.locator(f"#delivery-{delivery.pk}").get_by_role("link").first.click()

    box = page.locator("#needs-check")
    expect(box).to_contain_text("Did Tallyfy create this run?")
    expect(box.locator(".candidates tbody tr")).to_have_count(2)
    screenshot(page, "needs-check-1-candidates")

    box.locator(".candidates tr", has_text=made["id"]).get_by_role(
        "button", name="Use this run"
    ).click()
    expect(page.locator(".run-link")).to_contain_text(made["id"])
    expect(page.locator("#toasts")).to_contain_text(f"now points at run {made['id']}")
    screenshot(page, "needs-check-2-adopted")

    assert Delivery.objects.get(pk=delivery.pk).run_id == made["id"]
    assert len(sandbox_runs(base)) == 2  # Kickoff's and the colleague's; none launched again


def test_staff_say_no_run_was_made_and_it_launches_once(
    signed_in_page, live_kickoff, mapping, task_queue, retry_queue, screenshot
):
    page, base = signed_in_page, live_kickoff
    httpx.post(
        f"{base}/sandbox/tallyfy/control/faults", json={"kind": "500", "count": 1}
    ).raise_for_status()
    submit(base, "nora@example.com")
    task_queue.drain()
    delivery = next_try(Delivery.objects.latest("pk"))
    assert delivery.status == Delivery.Status.NEEDS_CHECK
    assert sandbox_runs(base) == []

    page.goto(f"{base}/deliveries/{delivery.pk}/")
    expect(page.locator("#needs-check")).to_contain_text("Tallyfy lists no run of this template")
    screenshot(page, "needs-check-3-no-candidates")
    page.get_by_role("button", name="It was not created — launch").click()
    expect(page.locator("#toasts")).to_contain_text("is being launched")
    assert len(retry_queue) == 1
    tasks.retry_delivery.run(*retry_queue[0])

    expect(page.locator(".run-link")).to_be_visible(timeout=10_000)
    screenshot(page, "needs-check-4-launched")
    assert len(sandbox_runs(base)) == 1
