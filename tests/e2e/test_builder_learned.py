"""An operator meets a form whose options Tally's REST shapes do not give: the row says so
and Enable stays off; listening for a test submission teaches the builder its fields."""

import re

from playwright.sync_api import expect

from integrations.connections import connect_tally_api_key, connect_tallyfy_token
from integrations.models import Delivery, Submission
from tests.e2e.waits import wait_js

OPTIONS_UNKNOWN = "Options unknown — submit the form once, or set a constant"
# A function, not an expression: Playwright evals a polled expression, which the CSP forbids.
SETTLED = (
    "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
)


def support_mapping(operator):
    from integrations.mappings import fetch_form, fetch_template, mapping_create
    from integrations.sandbox.tallyfy import seed as tallyfy_seed

    tally, _ = connect_tally_api_key("tly-sandbox-demo-key", actor=operator)
    tallyfy, _ = connect_tallyfy_token(
        "tallyfy-sandbox-demo-token", tallyfy_seed.ACME_ID, actor=operator
    )
    return mapping_create(
        name="Support → Triage",
        tally_connection=tally,
        form=fetch_form(tally, "3jqXkP"),
        tallyfy_connection=tallyfy,
        template=fetch_template(tallyfy, tallyfy_seed.SUPPORT_TRIAGE_ID),
        actor=operator,
    )


def choose(page, field_label: str, source_label: str):
    with page.expect_response(lambda r: "/edit/row/" in r.url):
        page.get_by_label(f"Value for {field_label}").select_option(label=source_label)
    wait_js(page, SETTLED)


def test_a_choice_with_unknown_options_says_so_and_cannot_be_enabled(
    signed_in_page, sandbox_seeded, operator, live_kickoff, screenshot
):
    from integrations.sandbox.tally import switches

    switches.flip("block_options", "without")
    mapping = support_mapping(operator)
    page = signed_in_page
    page.goto(f"{live_kickoff}/mappings/{mapping.pk}/edit/")
    choose(page, "Requester email", "Your email · INPUT_EMAIL")
    choose(page, "Priority", "Category · MULTIPLE_CHOICE")
    row = page.locator("#rules tr.rule-row", has_text="Priority")
    expect(row.locator("td").last).to_contain_text(OPTIONS_UNKNOWN)
    expect(row.locator(".badge.ok")).to_have_count(0)
    screenshot(page, "mapping-options-unknown-row")

    page.get_by_role("button", name="Save mapping").click()
    expect(page.locator(".messages, [role=status], body").first).to_contain_text(
        "It cannot be enabled yet: Priority: " + OPTIONS_UNKNOWN
    )
    expect(page.get_by_role("button", name="Enable")).to_be_disabled()
    expect(page.locator("ul.problems li.blocking")).to_contain_text(OPTIONS_UNKNOWN)
    screenshot(page, "mapping-options-unknown-detail")


def test_listen_for_a_test_submission_then_the_builder_offers_its_fields(
    signed_in_page, sandbox_seeded, operator, live_kickoff, screenshot
):
    from integrations.sandbox.tally import switches

    # No question ids and no options in the blocks: only a submission can say.
    switches.flip("questions_shape", "uuid")
    switches.flip("block_options", "without")
    mapping = support_mapping(operator)
    page = signed_in_page
    page.goto(f"{live_kickoff}/mappings/{mapping.pk}/edit/")
    email = page.get_by_label("Value for Requester email")
    expect(email.locator("option", has_text="Your email")).to_have_count(0)

    page.get_by_role("button", name="Listen for a test submission").click()
    listen = page.locator("#listen")
    expect(listen).to_contain_text(
        re.compile(r"Listening until \d\d:\d\d — submit the form in Tally")
    )
    expect(listen).to_contain_text("No submission received yet.")
    screenshot(page, "mapping-listening")

    tally = page.context.new_page()
    tally.goto(f"{live_kickoff}/sandbox/tally/forms/3jqXkP/submit")
    tally.get_by_label("Your email").fill("ada@example.com")
    tally.get_by_label("Bug", exact=True).check()
    tally.get_by_label("Describe the problem").fill("The export button does nothing.")
    tally.get_by_role("button", name="Submit").click()
    expect(tally.locator("body")).to_contain_text(re.compile("submitted|Submission", re.I))
    tally.close()

    # The builder's poll notices it.
    expect(listen).to_contain_text("1 submission received.", timeout=15_000)
    page.get_by_role("link", name="Show the fields that arrived").click()
    learned = page.locator("#learned")
    expect(learned).to_contain_text("ada@example.com")
    expect(learned).to_contain_text("Billing, Bug, Question")
    expect(email.locator("option", has_text="Your email")).to_have_count(1)
    choose(page, "Priority", "Category · MULTIPLE_CHOICE")
    row = page.locator("#rules tr.rule-row", has_text="Priority")
    expect(row.get_by_label("Billing", exact=True)).to_be_visible()
    expect(row).not_to_contain_text(OPTIONS_UNKNOWN)
    screenshot(page, "mapping-learned-fields")

    assert Submission.objects.filter(form_id="3jqXkP").count() == 1
    assert Delivery.objects.count() == 0  # stored, never launched
