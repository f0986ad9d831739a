"""A follow-up form completes a task of the run a launch made (issue #15).

Staff build two mappings in the builder: (A) "Client onboarding request" launches a
"Client onboarding" run whose "Project notes" kick-off field (and summary) carry the
follow-up link of the "Client sign-off" form; (B) "Client sign-off" completes that run's
"Client sign-off" approval step, found by the link's `kickoff_ref`. A respondent submits
A in the sandbox Tally, the sign-off link is read off the run in the sandbox Tallyfy and
opened, and the sign-off approves the task with its fields saved. Submitting the same link
again changes nothing in Tallyfy: the task is already complete and is not completed twice.
"""

import re

import pytest
from playwright.sync_api import expect

from integrations.connections import connect_tally_api_key, connect_tallyfy_token
from integrations.models import Delivery, Mapping
from integrations.sandbox.tallyfy.models import Task as SandboxTask
from tests import pipeline_factories as pf
from tests.e2e.waits import wait_js

REQUEST_FORM = "wMDkzb"  # sandbox Tally "Client onboarding request"
SIGNOFF_FORM = "Qs4gNo"  # sandbox Tally "Client sign-off"
# A function, not an expression: Playwright evals a polled expression, which the CSP forbids.
SETTLED = (
    "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
)
NOTES = "Everything checked with Casey; good to go."
GO_LIVE = "2027-06-01"


@pytest.fixture
def connected(sandbox_seeded, live_kickoff, operator, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    # Where follow-up links open: this live server's sandbox Tally (`live_kickoff` does not
    # point this vendor URL at it).
    settings.TALLY_FORMS_BASE_URL = f"{live_kickoff}/sandbox/tally/r"
    connect_tally_api_key(pf.TALLY_API_KEY, actor=operator)
    connect_tallyfy_token(pf.TALLYFY_TOKEN, pf.ACME_ID, actor=operator)


def settle(page):
    wait_js(page, SETTLED)


def choose_source(page, field_label: str, source_label: str):
    with page.expect_response(lambda r: "/edit/row/" in r.url):
        page.get_by_label(f"Value for {field_label}").select_option(label=source_label)
    settle(page)


def pick_template(page, template: str):
    page.get_by_placeholder("Search templates…").fill(template)
    expect(page.locator("#template-field .helptext")).to_contain_text(f"matching “{template}”")
    page.get_by_label("3. Tallyfy template").select_option(label=template)


def save_and_enable(page):
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_role("status")).to_contain_text("Saved version 1")
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("Enabled")


def build_launch_mapping(page, base):
    """A: the request launches Client onboarding; its Project notes carry the sign-off link."""
    page.goto(f"{base}/mappings/new/")
    page.get_by_label("1. Tally form").select_option(
        label="Client onboarding request · dana.demo@example.com"
    )
    pick_template(page, "Client onboarding")
    expect(page.get_by_label("Launch a process")).to_be_checked()  # the default
    page.get_by_label("Name (optional)").fill("Onboarding with sign-off")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Edit mapping")).to_be_visible()

    page.get_by_label("Process name").fill("Onboarding – {Company name}")
    choose_source(page, "Company name", "Company name · INPUT_TEXT")
    choose_source(page, "Contact email", "Email · INPUT_EMAIL")
    choose_source(page, "Start date", "Preferred start date · INPUT_DATE")
    choose_source(page, "Plan", "Plan · DROPDOWN")
    choose_source(page, "Project notes", "A text template…")
    notes = page.locator("#rules tr.rule-row", has_text="Project notes")
    with page.expect_response(lambda r: "/edit/row/" in r.url):
        notes.locator("input[name$='-template']").fill("Client sign-off: {followup_link}")
        notes.locator("input[name$='-template']").press("Tab")  # the row checks on change
    settle(page)

    # Process settings: the follow-up form, and its link in the summary too.
    with page.expect_response(lambda r: "followup" in r.url):
        page.get_by_label("Follow-up form").select_option(label="Client sign-off")
    settle(page)
    expect(page.locator("#followup-hint")).to_contain_text(
        f"/sandbox/tally/r/{SIGNOFF_FORM}?kickoff_ref=…"
    )
    page.get_by_label("Process summary").fill("New client. Sign-off: ")
    page.get_by_role("button", name="Insert follow-up form link").click()
    expect(page.get_by_label("Process summary")).to_have_value(
        "New client. Sign-off: {followup_link}"
    )
    save_and_enable(page)
    follow_up = page.locator("#mapping-kind")
    expect(follow_up.locator("dt:has-text('Follow-up form') + dd")).to_have_text(SIGNOFF_FORM)


def build_task_mapping(page, base, screenshot):
    """B: a sign-off completes the run's Client sign-off approval, found by kickoff_ref."""
    page.goto(f"{base}/mappings/new/")
    page.get_by_label("1. Tally form").select_option(
        label="Client sign-off · dana.demo@example.com"
    )
    pick_template(page, "Client onboarding")
    with page.expect_response(lambda r: "/mappings/new/" in r.url):
        page.get_by_label("Complete a task in a running process").check()
    settle(page)
    page.get_by_label("5. Step whose task a submission completes").select_option(
        label="Client sign-off · approval"
    )
    page.get_by_label("Name (optional)").fill("Client sign-off")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Edit mapping")).to_be_visible()
    expect(page.get_by_role("heading", name="Task fields of “Client sign-off”")).to_be_visible()

    choose_source(page, "Sign-off notes", "Notes · TEXTAREA")
    choose_source(page, "Go-live date", "Go-live date · INPUT_DATE")

    run = page.locator("#task-run")
    run.get_by_label("By hidden fields of the form").check()
    run.get_by_label("Kickoff reference (kickoff_ref)").select_option(
        label="kickoff_ref · hidden field"
    )

    with page.expect_response(lambda r: "/edit/task/" in r.url):
        page.get_by_label("Decision question").select_option(label="Decision")
    settle(page)
    approval = page.locator("#task-approval")
    approval.get_by_label("Approve", exact=True).select_option(label="approves")
    approval.get_by_label("Reject", exact=True).select_option(label="rejects")
    screenshot(page, "task-completion-1-task-builder")
    save_and_enable(page)
    expect(page.locator("#mapping-kind")).to_contain_text("Client sign-off")


def submit_request(page, base):
    page.goto(f"{base}/sandbox/tally/forms/{REQUEST_FORM}/submit")
    expect(page.get_by_text("goes to 1 webhook")).to_be_visible()
    page.locator("#question_Bq7mLw").fill("Big Corp")
    page.locator("#question_Cr2nPx").fill("Casey Client")
    page.locator("#question_Ds5pRy").fill("casey@bigcorp.example")
    page.locator("#question_Fu3rTa").fill("2027-03-15")
    page.locator("#question_Gv6sUb").select_option(label="Enterprise")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thanks! Response received")).to_be_visible()
    expect(page.get_by_text("delivered", exact=True)).to_be_visible()


def sign_off(page, link: str, reference: str, notes: str):
    """Open the follow-up link as the client would, approve, and submit."""
    page.goto(link)
    expect(page.get_by_role("heading", name="Client sign-off")).to_be_visible()
    expect(page.get_by_text("goes to 1 webhook")).to_be_visible()
    expect(page.get_by_text("Filled from the link: kickoff_ref")).to_contain_text(reference)
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Notes").fill(notes)
    page.get_by_label("Go-live date").fill(GO_LIVE)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thanks! Response received")).to_be_visible()
    expect(page.get_by_text("delivered", exact=True)).to_be_visible()


def test_a_follow_up_sign_off_completes_the_approval_once(
    signed_in_page, connected, live_kickoff, task_queue, screenshot
):
    page, base = signed_in_page, live_kickoff
    build_launch_mapping(page, base)
    build_task_mapping(page, base, screenshot)
    launch = Mapping.objects.get(name="Onboarding with sign-off")
    signoff = Mapping.objects.get(name="Client sign-off")
    assert signoff.kind == Mapping.Kind.COMPLETE_TASK

    # --- The request launches the run; its kick-off field carries the sign-off link ----------
    submit_request(page, base)
    task_queue.drain()
    launched = Delivery.objects.get(mapping=launch)
    page.goto(f"{base}/deliveries/")
    expect(page.locator(f"#delivery-{launched.pk} .badge")).to_have_text("Succeeded")
    run_href = (
        page.locator(f"#delivery-{launched.pk}")
        .get_by_role("link", name="Open run ↗")
        .get_attribute("href")
    )
    page.goto(run_href)
    expect(page.get_by_role("heading", name="Onboarding – Big Corp")).to_be_visible()
    project_notes = page.locator("tr", has_text="Project notes")
    expect(project_notes).to_contain_text("Client sign-off: ")
    found = re.search(
        r"https?://\S+/sandbox/tally/r/(\w+)\?kickoff_ref=(\S+)", project_notes.inner_text()
    )
    assert found, project_notes.inner_text()
    link, reference = found.group(0), found.group(2)
    assert found.group(1) == SIGNOFF_FORM
    expect(page.locator("dt:has-text('Summary') + dd")).to_contain_text(
        f"New client. Sign-off: {link}"
    )
    signoff_row = page.locator("tr", has_text="Client sign-off").filter(has_text="approval")
    expect(signoff_row).to_contain_text("not started")

    # --- The client signs off from the link -------------------------------------------------
    sign_off(page, link, reference, NOTES)
    task_queue.drain()
    first = Delivery.objects.get(mapping=signoff)

    page.goto(f"{base}/deliveries/")
    page.get_by_text("More filters").click()  # the kind is among the less used filters
    with page.expect_response(lambda r: "/deliveries/" in r.url):
        page.get_by_label("Kind").select_option(label="Complete a task")
    settle(page)
    rows = page.locator("#deliveries tbody tr.delivery-row")
    expect(rows).to_have_count(1)  # the launch is not a task completion
    row = page.locator(f"#delivery-{first.pk}")
    expect(row.locator(".badge")).to_have_text("Succeeded")
    expect(row.locator(".kind-tag")).to_have_text("task")
    expect(row.locator("td.mapping .cell-line")).to_have_attribute(
        "title", re.compile("completes “Client sign-off”")
    )
    row.get_by_role("link").first.click()

    expect(page.get_by_role("heading", name=f"Delivery {first.pk}")).to_be_visible()
    expect(page.locator(".status-big .badge")).to_have_text("Succeeded")
    expect(page.locator(".status-card")).to_contain_text("Completed the task “Client sign-off”")
    expect(page.locator("#approval-decision")).to_have_text("Approved")
    attempt = page.locator("#timeline li[data-kind=attempt]")
    expect(attempt).to_have_count(1)
    expect(attempt.locator(".attempt-head .badge")).to_have_text("Succeeded")
    calls = attempt.locator("table.calls tbody tr")
    expect(calls).to_have_count(4)
    expect(calls.nth(0)).to_contain_text("Read the run's tasks")
    expect(calls.nth(0)).to_contain_text("HTTP 200")
    expect(calls.nth(1)).to_contain_text("Save “Sign-off notes”")
    expect(calls.nth(1).locator("td").nth(1)).to_contain_text(NOTES)  # the request
    expect(calls.nth(1)).to_contain_text("HTTP 200")  # the answer
    expect(calls.nth(2)).to_contain_text("Save “Go-live date”")
    expect(calls.nth(2).locator("td").nth(1)).to_contain_text(GO_LIVE)
    expect(calls.nth(3)).to_contain_text("Complete “Client sign-off”")
    expect(calls.nth(3).locator("td").nth(1)).to_contain_text('"is_approved": true')
    expect(calls.nth(3)).to_contain_text("HTTP 201")
    expect(attempt.locator("tr.call-failed")).to_have_count(0)
    screenshot(page, "task-completion-2-delivery")

    # --- The sandbox Tallyfy shows the task approved with its fields ------------------------
    page.goto(run_href)
    signoff_row = page.locator("tr", has_text="Client sign-off").filter(has_text="approval")
    expect(signoff_row).to_contain_text("completed")
    expect(signoff_row.locator(".badge", has_text="Approved")).to_be_visible()
    expect(signoff_row).to_contain_text(f"Sign-off notes: {NOTES}")
    expect(signoff_row).to_contain_text("Go-live date: 1 Jun 2027")
    by_line = signoff_row.locator("td").nth(2).locator(".muted").inner_text()
    screenshot(page, "task-completion-3-run")
    task = SandboxTask.objects.get(id=first.task_id)
    completed_at = task.completed_at
    assert completed_at is not None and task.is_approved is True

    # --- The same link again: already complete, nothing sent ---------------------------------
    sign_off(page, link, reference, "Signing again, by mistake.")
    task_queue.drain()
    second = Delivery.objects.filter(mapping=signoff).exclude(pk=first.pk).get()
    page.goto(f"{base}/deliveries/{second.pk}/")
    expect(page.locator(".status-big .badge")).to_have_text("Succeeded")
    attempt = page.locator("#timeline li[data-kind=attempt]")
    expect(attempt).to_have_count(1)
    expect(attempt.locator(".attempt-head .badge")).to_have_text("Task already complete")
    expect(attempt).to_contain_text("this submission's answers were not written to it")
    calls = attempt.locator("table.calls tbody tr")
    expect(calls).to_have_count(1)  # read the tasks; no field saved, no completion
    expect(calls.first).to_contain_text("Read the run's tasks")
    attempt.locator("details summary", has_text="Request and response").click()
    expect(attempt.locator(".attempt-io")).to_contain_text(
        "Already complete: nothing was sent again."
    )
    screenshot(page, "task-completion-4-already-complete")

    page.goto(run_href)
    signoff_row = page.locator("tr", has_text="Client sign-off").filter(has_text="approval")
    expect(signoff_row.locator(".badge", has_text="Approved")).to_be_visible()
    expect(signoff_row).to_contain_text(f"Sign-off notes: {NOTES}")
    expect(signoff_row).not_to_contain_text("by mistake")
    expect(signoff_row.locator("td").nth(2).locator(".muted")).to_have_text(by_line)
    task.refresh_from_db()
    assert task.completed_at == completed_at  # completed once
