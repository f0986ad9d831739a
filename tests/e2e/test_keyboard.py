"""The keyboard alone: `/` to search, `j`/`k` through the deliveries, `r` to retry the
chosen one, `?` for the help; focus stays on the row when HTMX swaps it."""

import pytest
from playwright.sync_api import expect

from integrations.models import Delivery
from tests import pipeline_factories as pf
from tests.e2e.waits import wait_js
from tests.seeded_pages import seed_pages


@pytest.fixture
def three_deliveries(sandbox_seeded, operator, task_queue):
    """Newest first on the page: failed, succeeded, failed."""
    from integrations.models import Mapping

    seed_pages(operator)
    oldest = Delivery.objects.get()
    mapping = Mapping.objects.get()
    middle = pf.ingest(mapping)[0]
    newest = pf.ingest(mapping)[0]
    Delivery.objects.filter(pk=middle.pk).update(status=Delivery.Status.SUCCEEDED)
    Delivery.objects.filter(pk=newest.pk).update(status=Delivery.Status.FAILED)
    return newest, middle, oldest


def current_row(page):
    return page.locator("tr.kb-current")


def test_search_rows_and_retry_from_the_keyboard(
    signed_in_page, live_kickoff, three_deliveries, screenshot
):
    page = signed_in_page
    newest, middle, oldest = three_deliveries
    page.goto(f"{live_kickoff}/deliveries/")
    page.wait_for_load_state("networkidle")

    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    # Typed into the search box, not a shortcut (the box searches as you type: wait for it).
    # The search itself, not one of the page's polls (new deliveries, chips).
    with page.expect_response(lambda r: "/deliveries/?" in r.url and "q=j" in r.url):
        page.keyboard.type("j")
        expect(page.locator("#id_q")).to_have_value("j")
        expect(current_row(page)).to_have_count(0)
    page.locator("#id_q").fill("")
    page.evaluate("document.activeElement.blur()")
    # Leaving the box may search again: let that settle before the shortcuts.
    wait_js(page, "() => !document.querySelector('.htmx-request')")
    expect(page.locator("tr.delivery-row")).to_have_count(3)

    page.keyboard.press("j")
    expect(current_row(page)).to_have_id(f"delivery-{newest.pk}")
    expect(page.locator(f"#delivery-{newest.pk}")).to_be_focused()
    page.keyboard.press("j")
    expect(current_row(page)).to_have_id(f"delivery-{middle.pk}")
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last row
    expect(current_row(page)).to_have_id(f"delivery-{oldest.pk}")
    page.keyboard.press("k")
    page.keyboard.press("k")
    expect(current_row(page)).to_have_id(f"delivery-{newest.pk}")
    screenshot(page, "keyboard-row-chosen")

    # r on a succeeded row does nothing; on the failed one it retries that delivery.
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.keyboard.press("k")
    page.keyboard.press("r")
    expect(page.locator("#toasts")).to_contain_text(f"Delivery {newest.pk} is being retried.")
    # The row was swapped by HTMX: it is still the chosen one, and still has the focus.
    expect(current_row(page)).to_have_id(f"delivery-{newest.pk}")
    expect(page.locator(f"#delivery-{newest.pk}")).to_be_focused()
    statuses = {d.pk: d.status for d in Delivery.objects.all()}
    assert statuses == {
        newest.pk: Delivery.Status.PENDING,  # queued again
        middle.pk: Delivery.Status.SUCCEEDED,
        oldest.pk: Delivery.Status.FAILED,  # not chosen: untouched
    }

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    screenshot(page, "keyboard-help")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_error_toasts_stay_until_dismissed(signed_in_page, live_kickoff):
    page = signed_in_page
    page.evaluate(
        """() => {
          const toast = (message, level) =>
            document.dispatchEvent(new CustomEvent("toast", {detail: {message, level}}));
          toast("It broke", "error");
          toast("Saved", "success");
        }"""
    )
    error = page.get_by_role("alert").filter(has_text="It broke")
    expect(error).to_be_visible()
    expect(page.locator(".toast-success")).to_be_hidden(timeout=8000)
    expect(error).to_be_visible()  # the success toast went; the error stays
    error.get_by_role("button", name="Dismiss").click()
    expect(error).to_have_count(0)
