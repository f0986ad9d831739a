"""The Deliveries list as a triage list, in a real browser: it fits the screen with Retry in
reach, a retrying row counts down and settles by itself, and deliveries that arrive while
it is open are announced rather than slipped in."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations.models import Delivery, Mapping
from tests import pipeline_factories as pf

LONG_ERROR = (
    "Tallyfy answered 422: the field “Describe the problem” must be shorter than 2,000 "
    "characters, and the assignee maria.rivera@acme.example is not a member of the org"
)


@pytest.fixture
def mapping(live_kickoff, task_queue):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


def delivery(mapping, email, status, *, ago=timedelta(minutes=5), **fields) -> Delivery:
    data = pf.envelope(form_id=mapping.form_id, fields=pf.support_fields(email=email))
    [d] = pf.ingest(mapping, data)
    fields.setdefault("last_error", LONG_ERROR if status == "failed" else "")
    Delivery.objects.filter(pk=d.pk).update(
        status=status, created_at=timezone.now() - ago, attempt_count=2, **fields
    )
    return Delivery.objects.get(pk=d.pk)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", [1280, 1400, 390])
def test_the_list_fits_the_screen_and_retry_is_in_reach(
    signed_in_page, live_kickoff, mapping, screenshot, width
):
    Mapping.objects.filter(pk=mapping.pk).update(
        name="Customer support tickets — priority routing for the EMEA team"
    )
    for i, status in enumerate(
        ["failed", "retrying", "succeeded", "skipped", "needs_check", "failed", "held"]
    ):
        delivery(
            mapping,
            f"customer.number{i}@a-rather-long-company-domain.example",
            status,
            ago=timedelta(minutes=3 * i + 1),
            next_attempt_at=timezone.now() + timedelta(minutes=4) if status == "retrying" else None,
            last_status_code=422 if status == "failed" else None,
        )
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_kickoff}/deliveries/")

    table = page.locator("#deliveries")
    expect(table).to_be_visible()
    assert no_horizontal_scroll(page)
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    retry = page.locator("#deliveries").get_by_role("button", name="Retry").first
    retry.scroll_into_view_if_needed()
    expect(retry).to_be_in_viewport()
    assert no_horizontal_scroll(page)
    retry_box = retry.bounding_box()
    assert retry_box["x"] + retry_box["width"] <= width
    # Who each row is about, in words a person reads, and when, exactly, on hover.
    first = page.locator("tr.delivery-row").first
    expect(first.locator("td.who")).to_contain_text("customer.number0@")
    expect(first.locator("time.ago")).to_have_text("1 min ago")
    assert first.locator("time.ago").get_attribute("title").endswith("UTC")
    screenshot(page, f"triage-list-{width}")


def test_a_retrying_row_counts_down_then_settles_by_itself(
    signed_in_page, live_kickoff, mapping, screenshot
):
    d = delivery(
        mapping,
        "ria@example.com",
        "retrying",
        next_attempt_at=timezone.now() + timedelta(seconds=6),
        last_error="Tallyfy answered 503",
    )
    page = signed_in_page
    page.goto(f"{live_kickoff}/deliveries/")
    countdown = page.locator(f"#delivery-{d.pk} .countdown")
    expect(countdown).to_have_text(re.compile(r"^next try in [1-6] s$"), timeout=3000)
    first = countdown.text_content()
    page.wait_for_timeout(2200)
    assert countdown.text_content() != first  # it counts down, it does not sit still
    expect(page.locator('[data-status="retrying"] strong')).to_have_text("1")

    # The worker's try succeeds; the row asks when it is due and shows it, and the chips
    # re-count.
    Delivery.objects.filter(pk=d.pk).update(
        status=Delivery.Status.SUCCEEDED,
        next_attempt_at=None,
        run_url="https://app.tallyfy.test/x/processes/r1",
        last_error="",
    )
    row = page.locator(f"#delivery-{d.pk}")
    expect(row.locator(".badge")).to_have_text("Succeeded", timeout=12_000)
    expect(row.get_by_role("link", name="Open run ↗")).to_be_visible()
    expect(page.locator('[data-status="retrying"] strong')).to_have_text("0", timeout=8000)
    expect(page.locator('[data-status="succeeded"] strong')).to_have_text("1")
    screenshot(page, "triage-settled")


def test_deliveries_that_arrive_while_the_list_is_open_are_announced(
    signed_in_page, live_kickoff, mapping, screenshot
):
    delivery(mapping, "first@example.com", "succeeded")
    page = signed_in_page
    page.goto(f"{live_kickoff}/deliveries/")
    expect(page.locator("tr.delivery-row")).to_have_count(1)

    delivery(mapping, "second@example.com", "failed", ago=timedelta(seconds=1))
    delivery(mapping, "third@example.com", "failed", ago=timedelta(seconds=0))

    bar = page.locator("#newer-bar")
    expect(bar).to_have_text("2 new deliveries — show", timeout=12_000)
    expect(page.locator("tr.delivery-row")).to_have_count(1)  # nothing slipped in
    screenshot(page, "triage-newer")
    bar.get_by_role("link").click()
    expect(page.locator("tr.delivery-row")).to_have_count(3)
    expect(page.locator("tr.delivery-row").first).to_contain_text("third@example.com")
    expect(page.locator("#newer-bar")).to_be_empty()
