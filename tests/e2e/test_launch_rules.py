"""Two mappings of one sandbox form, routed by the Plan answer: staff build them in the
builder's launch-rule sections (condition, owner from an email answer, a step deadline from
a date answer), a respondent submits three times in the sandbox Tally, and each submission
lands in its template with the right owner and deadline, or is skipped with its reason."""

import pytest
from playwright.sync_api import expect

from integrations.connections import connect_tally_api_key, connect_tallyfy_token
from integrations.models import Delivery, Mapping, Submission
from tests import pipeline_factories as pf
from tests.e2e.waits import wait_js

FORM_ID = "wMDkzb"  # sandbox Tally "Client onboarding request"
START = "2027-03-15"  # the Enterprise respondent's "Preferred start date"
# A function, not an expression: Playwright evals a polled expression, which the CSP forbids.
SETTLED = (
    "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
)


@pytest.fixture
def connected(sandbox_seeded, live_kickoff, operator, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    connect_tally_api_key(pf.TALLY_API_KEY, actor=operator)
    connect_tallyfy_token(pf.TALLYFY_TOKEN, pf.ACME_ID, actor=operator)


def settle(page):
    wait_js(page, SETTLED)


def redraw(page, action):
    """Do something that makes HTMX redraw the launch-rule sections; wait for the redraw."""
    with page.expect_response(lambda r: "/edit/launch/" in r.url):
        action()
    settle(page)


def choose_source(page, field_label: str, source_label: str):
    with page.expect_response(lambda r: "/edit/row/" in r.url):
        page.get_by_label(f"Value for {field_label}").select_option(label=source_label)
    settle(page)


def open_section(page, section_id: str):
    details = page.locator(f"#{section_id} details")
    if details.get_attribute("open") is None:
        page.locator(f"#{section_id} summary").click()
    expect(details).to_have_attribute("open", "")


def start_mapping(page, base, template: str, name: str):
    page.goto(f"{base}/mappings/new/")
    page.get_by_label("1. Tally form").select_option(
        label="Client onboarding request · dana.demo@example.com"
    )
    page.get_by_placeholder("Search templates…").fill(template)
    expect(page.locator("#template-field .helptext")).to_contain_text(f"matching “{template}”")
    page.get_by_label("3. Tallyfy template").select_option(label=template)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Edit mapping")).to_be_visible()


def launch_when_plan_is(page, plan: str):
    open_section(page, "launch-when")
    when = page.locator("#launch-when")
    redraw(page, lambda: when.get_by_label("Question").first.select_option(label="Plan"))
    when = page.locator("#launch-when")  # redrawn
    expect(when.get_by_label("Test").first).to_have_value("equals")
    when.get_by_label("Value").first.select_option(label=plan)


def save_and_enable(page):
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_role("status")).to_contain_text("Saved version 1")
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("Enabled")


def submit_in_tally(page, base, *, company: str, email: str, start: str, plan: str):
    page.goto(f"{base}/sandbox/tally/forms/{FORM_ID}/submit")
    expect(page.get_by_text("goes to 1 webhook")).to_be_visible()
    page.locator("#question_Bq7mLw").fill(company)
    page.locator("#question_Cr2nPx").fill("Casey Client")
    page.locator("#question_Ds5pRy").fill(email)
    page.locator("#question_Fu3rTa").fill(start)
    page.locator("#question_Gv6sUb").select_option(label=plan)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thanks! Response received")).to_be_visible()
    expect(page.get_by_text("delivered", exact=True)).to_be_visible()  # Kickoff said 200


def test_submissions_are_routed_by_plan_with_owner_and_deadline_from_answers(
    signed_in_page, connected, live_kickoff, task_queue, screenshot
):
    page, base = signed_in_page, live_kickoff

    # --- Mapping A: Enterprise → Client onboarding, owner and a deadline from answers ----
    start_mapping(page, base, "Client onboarding", "Enterprise onboarding")
    page.get_by_label("Process name").fill("Onboarding – {Company name}")
    choose_source(page, "Company name", "Company name · INPUT_TEXT")
    choose_source(page, "Contact email", "Email · INPUT_EMAIL")
    choose_source(page, "Start date", "Preferred start date · INPUT_DATE")
    choose_source(page, "Plan", "Plan · DROPDOWN")
    plan_row = page.locator("#rules tr.rule-row", has_text="Plan")
    expect(plan_row.locator("tr.unmatched")).to_have_count(0)  # same option texts
    launch_when_plan_is(page, "Enterprise")

    open_section(page, "launch-people")
    people = page.locator("#launch-people")
    redraw(
        page,
        lambda: people.get_by_label("Who gets Process owner").select_option(
            label="The member whose email a question holds"
        ),
    )
    page.locator("#people-owner").get_by_label("Email question").select_option(label="Email")

    open_section(page, "launch-deadlines")
    kickoff = page.locator("#launch-deadlines tr", has_text="Kickoff meeting")
    redraw(
        page,
        lambda: kickoff.get_by_label("Deadline of Kickoff meeting").select_option(
            label="A date question ± days"
        ),
    )
    kickoff = page.locator("#launch-deadlines tr", has_text="Kickoff meeting")
    kickoff.get_by_label("Date question").select_option(label="Preferred start date")
    kickoff.get_by_label("Days (+/−)").fill("0")
    kickoff.get_by_label("At (UTC)").fill("09:00")
    # Every section filled so far is still there after the last redraw.
    expect(page.locator("#launch-when").get_by_label("Value").first).to_have_value("Enterprise")
    expect(page.locator("#people-owner").get_by_label("Email question")).to_have_value(
        "question_Ds5pRy"
    )
    screenshot(page, "launch-rules-1-builder")
    save_and_enable(page)
    summary = page.locator("#launch-rules-summary")
    expect(summary).to_contain_text("When Plan is Enterprise")
    expect(summary).to_contain_text("the member whose email “Email” holds")
    expect(summary.locator("dt:has-text('Kickoff meeting due') + dd")).to_have_text(
        "“Preferred start date” at 09:00 UTC"
    )
    screenshot(page, "launch-rules-2-mapping-a")

    # --- Mapping B: Growth → Annual review ------------------------------------------------
    start_mapping(page, base, "Annual review", "Growth review")
    page.get_by_label("Process name").fill("Review – {Company name}")
    choose_source(page, "Requested by", "Contact name · INPUT_TEXT")
    launch_when_plan_is(page, "Growth")
    # The builder shows what the form's other enabled mapping takes.
    expect(page.locator("#launch-when .routing")).to_contain_text("Enterprise onboarding")
    save_and_enable(page)

    # --- Three submissions in the sandbox Tally -------------------------------------------
    submit_in_tally(
        page,
        base,
        company="Big Corp",
        email="sam.rivera@acme.example",
        start=START,
        plan="Enterprise",
    )
    submit_in_tally(
        page,
        base,
        company="Mid Corp",
        email="priya.shah@acme.example",
        start="2027-04-01",
        plan="Growth",
    )
    submit_in_tally(
        page,
        base,
        company="Small Corp",
        email="dana.demo@acme.example",
        start="2027-05-01",
        plan="Starter",
    )
    task_queue.drain()  # what the Celery worker does

    a = Mapping.objects.get(name="Enterprise onboarding")
    b = Mapping.objects.get(name="Growth review")

    submissions = dict(
        zip(("Big Corp", "Mid Corp", "Small Corp"), Submission.objects.order_by("pk"))
    )

    def delivery(mapping, company):
        return Delivery.objects.get(mapping=mapping, submission=submissions[company])

    # --- Deliveries page -------------------------------------------------------------------
    page.goto(f"{base}/deliveries/")
    rows = {
        (m.name, company): page.locator(f"#delivery-{delivery(m, company).pk}")
        for m in (a, b)
        for company in ("Big Corp", "Mid Corp", "Small Corp")
    }
    expect(page.locator("#deliveries tbody tr.delivery-row")).to_have_count(6)
    expect(rows["Enterprise onboarding", "Big Corp"].locator(".badge")).to_have_text("Succeeded")
    expect(rows["Growth review", "Big Corp"].locator(".badge")).to_have_text("Routed elsewhere")
    expect(rows["Growth review", "Big Corp"]).to_contain_text("Routed to “Enterprise onboarding”")
    expect(rows["Growth review", "Mid Corp"].locator(".badge")).to_have_text("Succeeded")
    expect(rows["Enterprise onboarding", "Mid Corp"].locator(".badge")).to_have_text(
        "Routed elsewhere"
    )
    for name in ("Enterprise onboarding", "Growth review"):
        row = rows[name, "Small Corp"]
        expect(row.locator(".badge")).to_have_text("Skipped — no rule matched")
        expect(row.locator(".last-error")).to_contain_text("Plan")
        expect(row.locator(".last-error")).to_contain_text("Starter")
    screenshot(page, "launch-rules-3-deliveries")

    # --- (a)'s run: Client onboarding, owned by Sam, Kickoff meeting due START 09:00 --------
    big = rows["Enterprise onboarding", "Big Corp"]
    run_href = big.get_by_role("link", name="Open run ↗").get_attribute("href")
    page.goto(run_href)
    expect(page.get_by_role("heading", name="Onboarding – Big Corp")).to_be_visible()
    expect(page.locator("dt:has-text('Template') + dd")).to_have_text("Client onboarding")
    expect(page.get_by_text("Owner: Sam Rivera")).to_be_visible()
    expect(page.locator("tr", has_text="Kickoff meeting")).to_contain_text(f"Due {START} 09:00 UTC")
    expect(page.locator("tr", has_text="Welcome call")).to_contain_text("No deadline")
    screenshot(page, "launch-rules-4-run")

    # --- (b)'s run: the other template ------------------------------------------------------
    page.goto(f"{base}/deliveries/")
    mid = page.locator(f"#delivery-{delivery(b, 'Mid Corp').pk}")
    page.goto(mid.get_by_role("link", name="Open run ↗").get_attribute("href"))
    expect(page.get_by_role("heading", name="Review – Mid Corp")).to_be_visible()
    expect(page.locator("dt:has-text('Template') + dd")).to_have_text("Annual review")

    # --- Overview: one submission no mapping took --------------------------------------------
    page.goto(f"{base}/")
    unrouted = page.locator("#unrouted")
    expect(unrouted.locator(".metric-value")).to_have_text("1")
    screenshot(page, "launch-rules-5-overview")
    unrouted.get_by_role("link", name="submission no mapping took").click()
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    shown = page.locator("#deliveries tbody tr.delivery-row")
    expect(shown).to_have_count(2)  # the Starter submission's two deliveries
    for row in shown.all():
        expect(row.locator(".badge")).to_have_text("Skipped — no rule matched")
