"""A respondent submits the sandbox all-types form in Chromium; Kickoff receives the signed
webhook and launches the process; the sandbox Tallyfy's run page shows the kick-off values."""

import pytest
from playwright.sync_api import expect

from integrations import mappings
from integrations.connections import connect_tally_api_key, connect_tallyfy_token
from integrations.models import Delivery, FieldMapping, Submission
from tests import pipeline_factories as pf

ONBOARDING = "client-onboarding"


@pytest.fixture
def enabled_mapping(sandbox_seeded, live_kickoff, settings):
    operator = None
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    from integrations.sandbox.tallyfy.seed import field_id

    tally, _ = connect_tally_api_key(pf.TALLY_API_KEY, actor=operator)
    tallyfy, _ = connect_tallyfy_token(pf.TALLYFY_TOKEN, pf.ACME_ID, actor=operator)
    form = mappings.fetch_form(tally, pf.ALL_TYPES_FORM_ID)
    template = mappings.fetch_template(tallyfy, pf.CLIENT_ONBOARDING_ID)
    mapping = mappings.mapping_create(
        name="Webhook payload → Client onboarding",
        tally_connection=tally,
        form=form,
        tallyfy_connection=tallyfy,
        template=template,
        actor=operator,
    )
    field = FieldMapping.Source.FIELD

    def rule(alias, **kw):
        return mappings.RuleInput(target_field_id=field_id(ONBOARDING, alias), **kw)

    mappings.mapping_save_version(
        mapping,
        name_template="Onboarding – {Text}",
        rules=[
            rule("company_name", source=field, source_key="question_3EKz4n"),
            rule("contact_email", source=field, source_key="question_w4Q4Xn"),
            rule("start_date", source=field, source_key="question_3xrXrn"),
            rule("plan", source=FieldMapping.Source.CONSTANT, constant="Growth"),
            rule(
                "services",
                source=field,
                source_key="question_meMqem",
                option_map={"Golf": "Setup", "Surf": "Training", "Climbing": "Data migration"},
            ),
            rule("project_notes", source=field, source_key="question_3Nrpl3"),
        ],
        form=form,
        template=template,
        actor=operator,
    )
    mappings.mapping_enable(mapping, actor=None)
    return mapping


def test_a_submitted_form_shows_up_as_a_tallyfy_process_with_its_kickoff_values(
    page, enabled_mapping, live_kickoff, task_queue, screenshot
):
    page.goto(f"{live_kickoff}/sandbox/tally/forms/{pf.ALL_TYPES_FORM_ID}/submit")
    expect(page.get_by_text("goes to 1 webhook")).to_be_visible()
    page.locator("#question_3EKz4n").fill("Acme Ltd")
    page.locator("#question_w4Q4Xn").fill("ada@acme.example")
    page.locator("#question_3xrXrn").fill("2026-12-01")
    page.locator("#question_3Nrpl3").fill("Kick off in December.")
    page.locator("#question_meMqem").select_option(label=["Golf", "Climbing"])
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_role("heading", name="Thanks! Response received")).to_be_visible()
    expect(page.get_by_text("delivered", exact=True)).to_be_visible()  # Kickoff said 200
    screenshot(page, "pipeline-1-submitted")

    assert Submission.objects.count() == 1
    task_queue.drain()  # what the Celery worker does
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SUCCEEDED, delivery.last_error

    page.goto(delivery.run_url)
    expect(page.get_by_role("heading", name="Onboarding – Acme Ltd")).to_be_visible()
    for label, value in [
        ("Company name", "Acme Ltd"),
        ("Contact email", "ada@acme.example"),
        ("Start date", "2026"),
        ("Plan", "Growth"),
        ("Services needed", "Setup"),
        ("Services needed", "Data migration"),
        ("Project notes", "Kick off in December."),
    ]:
        expect(page.locator("tr", has_text=label).first).to_contain_text(value)
    expect(page.get_by_text(f"Kickoff reference: {delivery.marker}")).to_be_visible()
    screenshot(page, "pipeline-2-tallyfy-run")
