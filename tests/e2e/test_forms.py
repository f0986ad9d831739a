"""An operator browses the all-types sandbox form: its questions, its submissions (with
Load more and one submission's resolved answers) and its analytics charts."""

import pytest
from playwright.sync_api import expect

from integrations.connections import connect_tally_api_key
from tests.e2e.waits import wait_js

ALL_TYPES = "VwbNEw"


@pytest.fixture
def locmem_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "e2e-forms",
        }
    }


@pytest.fixture
def own_http_pool(monkeypatch):
    """A pooled httpx client of our own, closed at the end: its keep-alive sockets would
    otherwise hold live-server threads, and their PostgreSQL sessions, open past the test
    (and then the test database cannot be dropped)."""
    import integrations.jsonapi as http

    monkeypatch.setattr(http, "_shared_http", None)
    yield
    if http._shared_http is not None:
        http._shared_http[1].close()


def test_an_operator_reads_the_all_types_form_in_three_tabs(
    sandbox_seeded, locmem_cache, own_http_pool, signed_in_page, operator, live_kickoff, screenshot
):
    from integrations.sandbox.tally.models import Form
    from integrations.sandbox.tally.seed import submissions_bulk_create

    submissions_bulk_create(Form.objects.get(id=ALL_TYPES), 40, seed="e2e")  # 70: two pages
    connect_tally_api_key("tly-sandbox-demo-key", actor=operator)
    page = signed_in_page

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Forms").click()
    forms = page.locator("#forms")
    expect(forms).to_contain_text("Webhook payload")
    expect(forms).to_contain_text("Client onboarding request")
    row = page.locator(f"#form-{ALL_TYPES}")
    expect(row).to_contain_text("70")
    expect(row.locator("time")).to_be_visible()  # last submission, loaded after the page
    screenshot(page, "forms-list")

    page.get_by_label("Search by name").fill("webhook")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{live_kickoff}/forms/?q=webhook&account=&workspace=")
    expect(page.locator("#forms tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Webhook payload").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Webhook payload")
    rows = page.locator("#submission-rows tr[id^=submission-]")
    expect(rows).to_have_count(50)
    screenshot(page, "form-submissions")
    page.get_by_role("link", name="Load more").click()
    expect(rows).to_have_count(70)
    expect(page.locator("#end-of-list")).to_contain_text("70 submissions")
    ids = rows.evaluate_all("rows => rows.map(r => r.id)")
    assert len(set(ids)) == 70
    screenshot(page, "form-submissions-more")

    rows.first.get_by_role("link", name="View").click()
    answers = page.locator("#answers")
    expect(answers).to_contain_text("Multiple choice")
    expect(answers).to_contain_text("question_3EKz4n")
    expect(answers).not_to_contain_text("ec321dc4-b50d")  # option ids shown as their text
    page.get_by_text("Raw JSON from Tally").click()
    expect(page.locator("pre.raw-json")).to_contain_text('"responses"')
    screenshot(page, "form-submission")

    page.get_by_role("navigation", name="Form sections").get_by_role(
        "link", name="Questions"
    ).click()
    table = page.locator("#questions")
    expect(table).to_contain_text("question_mVGEg3_8b5711e3-f6a2-4e25-9e68-5d730598c681")
    expect(table).to_contain_text("Not started")
    expect(table).to_contain_text("MATRIX")
    screenshot(page, "form-questions")

    page.get_by_role("navigation", name="Form sections").get_by_role(
        "link", name="Analytics"
    ).click()
    page.get_by_role("link", name="All time").click()
    wait_js(page, "() => window.kickoffCharts && window.kickoffCharts.length >= 3")
    for chart in ("chart-visits", "chart-submissions", "chart-drop-off"):
        expect(page.locator(f"canvas#{chart}")).to_be_visible()
    expect(page.locator(".metric-cards")).to_contain_text("Completion rate")
    expect(page.locator("#drop-off table")).to_contain_text("Multiple choice")
    expect(page.locator(".breakdowns")).to_contain_text("Devices")
    screenshot(page, "form-analytics")
