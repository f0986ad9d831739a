"""An operator builds, previews, saves and enables a mapping for the all-types form."""

import json
import re

import httpx
from playwright.sync_api import expect

from integrations.connections import connect_tally_api_key, connect_tallyfy_token
from integrations.models import Mapping
from tests.e2e.waits import wait_js

TALLY_API_KEY = "tly-sandbox-demo-key"
FULL_ANSWERS = {
    "Text": "Acme Ltd",
    "Email": "ada@acme.example",
    "Date": "2026-12-01",
    "Long text": "Kick off in December.",
    "Multiple choice": "In progress",
    "Checkboxes": ["Swimming", "Skiing"],
    "Dropdown": "Hard",
    "Matrix": {"Quality": ["Satisfied"], "Speed": ["Neutral"]},
}


# A function, not an expression: Playwright evals a polled expression, which the CSP forbids.
SETTLED = (
    "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
)


def choose(page, field_label: str, source_label: str):
    """Pick a row's source; the row re-renders in place (HTMX) with its check result."""
    with page.expect_response(lambda r: "/edit/row/" in r.url):
        page.get_by_label(f"Value for {field_label}").select_option(label=source_label)
    wait_js(page, SETTLED)
    expect(page.locator("tr.rule-row[data-source^='field:']", has_text=field_label)).to_be_visible()


def map_option(row, tally_option: str, tallyfy_option: str):
    with row.page.expect_response(lambda r: "/edit/row/" in r.url):
        row.get_by_label(tally_option, exact=True).select_option(tallyfy_option)
    wait_js(row.page, SETTLED)


def test_build_preview_save_and_enable_a_mapping(
    signed_in_page, sandbox_seeded, operator, live_kickoff, screenshot
):
    from integrations.sandbox.tallyfy import seed as tallyfy_seed

    connect_tally_api_key(TALLY_API_KEY, actor=operator)
    connect_tallyfy_token("tallyfy-sandbox-demo-token", tallyfy_seed.ACME_ID, actor=operator)
    created = httpx.post(
        f"{live_kickoff}/sandbox/tally/control/forms/VwbNEw/submissions",
        json={"answers": FULL_ANSWERS, "deliver": False},
    )
    assert created.status_code == 201, created.text
    submission_id = created.json()["submissionId"]

    page = signed_in_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Mappings").click()
    page.get_by_role("link", name="Build your first mapping").click()
    page.get_by_label("1. Tally form").select_option(
        label="Webhook payload · dana.demo@example.com"
    )
    page.get_by_placeholder("Search templates…").fill("onboard")
    expect(page.locator("#template-field .helptext")).to_contain_text("matching “onboard”")
    page.get_by_label("3. Tallyfy template").select_option(label="Client onboarding")
    screenshot(page, "mapping-new")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Edit mapping")).to_be_visible()
    # Required kick-off fields come first and say so.
    first_rows = page.locator("#rules tbody tr.rule-row")
    expect(first_rows.nth(0)).to_contain_text("Company name")
    expect(first_rows.nth(0)).to_contain_text("required")
    page.get_by_label("Process name").fill("Onboarding – {Text}")

    choose(page, "Company name", "Text · INPUT_TEXT")
    row = page.locator("#rules tr", has_text="Company name")
    expect(row.locator(".badge.ok")).to_have_text("Fits")
    choose(page, "Contact email", "Email · INPUT_EMAIL")
    choose(page, "Start date", "Date · INPUT_DATE")
    choose(page, "Plan", "Dropdown · DROPDOWN")
    plan = page.locator("#rules tr.rule-row", has_text="Plan")
    # Tally's "Easy"/"Hard" match nothing in Starter/Growth/Enterprise: flagged.
    expect(plan.locator("tr.unmatched")).to_have_count(2)
    expect(plan.locator(".problems")).to_contain_text("Easy")
    map_option(plan, "Easy", "Starter")
    map_option(plan, "Hard", "Enterprise")
    # Every option matched now: the row says so.
    expect(plan.locator("tr.unmatched")).to_have_count(0)
    expect(plan.locator(".badge.ok")).to_have_text("Fits")
    choose(page, "Region", "Multiple choice · MULTIPLE_CHOICE")
    region = page.locator("#rules tr.rule-row", has_text="Region")
    for tally_option, tallyfy_option in [
        ("Not started", "EU"),
        ("In progress", "North America"),
        ("Done", "APAC"),
        ("Blocked", "APAC"),
    ]:
        map_option(region, tally_option, tallyfy_option)
    choose(page, "Services needed", "Checkboxes · CHECKBOXES")
    services = page.locator("#rules tr.rule-row", has_text="Services needed")
    for tally_option, tallyfy_option in [
        ("Soccer", "Setup"),
        ("Swimming", "Training"),
        ("Skiing", "Data migration"),
    ]:
        map_option(services, tally_option, tallyfy_option)
    choose(page, "Project notes", "Long text · TEXTAREA")
    # Only compatible Tally fields are offered: a table takes the matrix, not a text.
    contacts = page.get_by_label("Value for Contacts")
    expect(contacts.locator("option", has_text="Matrix")).to_have_count(1)
    expect(contacts.locator("option", has_text="Long text")).to_have_count(0)
    choose(page, "Contacts", "Matrix · MATRIX")
    choose(page, "Signed contract", "File upload · FILE_UPLOAD")
    choose(page, "Account manager", "Email · INPUT_EMAIL")
    screenshot(page, "mapping-builder")
    page.get_by_role("button", name="Save mapping").click()

    expect(page.get_by_role("status")).to_contain_text("Saved version 1")
    expect(page.locator(".version-list")).to_contain_text("Version 1")
    screenshot(page, "mapping-detail-draft")

    page.get_by_role("link", name="Preview").click()
    page.get_by_label("Submission").select_option(value=submission_id)
    page.get_by_role("button", name="Preview this submission").click()
    # The raw body is folded under a <details>: read its text, not what is shown.
    body = json.loads(page.locator("#launch-body").text_content())
    prerun = body["prerun"]
    assert body["name"] == "Onboarding – Acme Ltd"
    assert body["checklist_id"] == tallyfy_seed.CLIENT_ONBOARDING_ID
    values = list(prerun.values())
    assert "Acme Ltd" in values
    assert {"id": 315, "text": "Enterprise"} in values  # dropdown: option id + exact text
    assert "North America" in values  # radio: the option's text
    assert [
        o["text"]
        for o in next(v for v in values if isinstance(v, list) and v and "selected" in v[0])
    ] == ["Training", "Data migration"]
    assert "2026-12-01T00:00:00.000Z" in values
    screenshot(page, "mapping-preview")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send test launch").click()
    banner = page.locator(".ok-banner")
    expect(banner).to_contain_text("Test process launched: Onboarding – Acme Ltd")
    expect(banner.get_by_role("link")).to_have_attribute("href", re.compile("/processes/"))
    runs = httpx.get(f"{live_kickoff}/sandbox/tallyfy/control/runs").json()
    runs = runs.get("data", runs) if isinstance(runs, dict) else runs
    assert any(r["name"] == "Onboarding – Acme Ltd" for r in runs)

    page.get_by_role("link", name="Back").click()
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("Enabled")
    mapping = Mapping.objects.get()
    assert mapping.status == "enabled"
    hooks = httpx.get(
        f"{live_kickoff}/sandbox/tally/api/webhooks",
        headers={"Authorization": f"Bearer {TALLY_API_KEY}"},
    ).json()["webhooks"]
    assert [h["formId"] for h in hooks] == ["VwbNEw"]
    assert hooks[0]["url"].startswith(f"{live_kickoff}/hooks/tally/")
    assert hooks[0]["signingSecret"]
    screenshot(page, "mapping-enabled")


def test_a_row_that_cannot_be_checked_says_so_and_keeps_the_choice(
    signed_in_page, sandbox_seeded, operator, live_kickoff, screenshot
):
    from django.core.cache import cache

    from integrations.mappings import fetch_form, fetch_template, mapping_create
    from integrations.sandbox.tally import services as tally_sandbox
    from integrations.sandbox.tallyfy import seed as tallyfy_seed

    tally, _ = connect_tally_api_key(TALLY_API_KEY, actor=operator)
    tallyfy, _ = connect_tallyfy_token(
        "tallyfy-sandbox-demo-token", tallyfy_seed.ACME_ID, actor=operator
    )
    mapping = mapping_create(
        name="Support → Triage",
        tally_connection=tally,
        form=fetch_form(tally, "3jqXkP"),
        tallyfy_connection=tallyfy,
        template=fetch_template(tallyfy, tallyfy_seed.SUPPORT_TRIAGE_ID),
        actor=operator,
    )
    page = signed_in_page
    page.goto(f"{live_kickoff}/mappings/{mapping.pk}/edit/")
    expect(page.get_by_role("heading", name="Edit mapping")).to_be_visible()
    cache.clear()  # the copy read on opening is gone (evicted, expired)
    tally_sandbox.faults_set(kind="500", count=20)

    with page.expect_response(lambda r: "/edit/row/" in r.url):
        page.get_by_label("Value for Requester email").select_option(
            label="Your email · INPUT_EMAIL"
        )
    expect(page.locator("#toasts .toast-error")).to_contain_text(
        "Could not check this row: Tally 500"
    )
    expect(page.get_by_label("Value for Requester email")).to_have_value("field:question_Ky5vXe")
    row = page.locator("#rules tr.rule-row", has_text="Requester email")
    expect(row.locator("td").last).to_contain_text("Not checked")
    screenshot(page, "mapping-row-unchecked")
