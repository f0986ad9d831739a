"""Someone deletes Kickoff's webhook in Tally's Integrations tab: the mapping page says so,
and an operator's Re-register brings the submissions back by webhook."""

import httpx
import pytest
from playwright.sync_api import expect

from integrations.mappings import mapping_enable
from integrations.models import Submission
from integrations.tasks import check_webhooks
from tests import pipeline_factories as pf


@pytest.fixture
def mapping(sandbox_seeded, live_kickoff, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    mapping_enable(mapping, actor=None)
    return mapping


def tally_webhooks(base):
    return httpx.get(
        f"{base}/sandbox/tally/api/webhooks",
        headers={"Authorization": f"Bearer {pf.TALLY_API_KEY}"},
    ).json()["webhooks"]


def submit(base):
    response = httpx.post(
        f"{base}/sandbox/tally/control/forms/{pf.SUPPORT_FORM_ID}/submissions",
        json={"answers": {"Your email": "back@example.com", "Describe the problem": "Broken"}},
        timeout=20,
    )
    response.raise_for_status()
    return response.json()


def test_a_webhook_deleted_in_tally_is_shown_and_re_registered(
    signed_in_page, mapping, live_kickoff, screenshot
):
    [hook] = tally_webhooks(live_kickoff)
    httpx.delete(f"{live_kickoff}/sandbox/tally/control/webhooks/{hook['id']}").raise_for_status()
    check_webhooks()  # the beat job

    page = signed_in_page
    page.goto(f"{live_kickoff}/mappings/")
    expect(page.locator("#mappings")).to_contain_text("Webhook missing")
    page.get_by_role("link", name=mapping.name).click()
    warning = page.get_by_role("alert").filter(has_text="Webhook missing in Tally")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Reconcile still recovers them")
    screenshot(page, "mapping-webhook-missing")

    warning.get_by_role("button", name="Re-register").click()
    expect(page.locator(".toast")).to_contain_text("Registered a new webhook in Tally")
    expect(page.get_by_text("Webhook missing in Tally")).to_have_count(0)
    screenshot(page, "mapping-webhook-reregistered")

    [new_hook] = tally_webhooks(live_kickoff)
    assert new_hook["id"] != hook["id"] and new_hook["url"] == hook["url"]
    sent = submit(live_kickoff)
    assert [d["statusCode"] for d in sent["deliveries"]] == [200]
    assert Submission.objects.filter(submission_id=sent["submissionId"]).exists()
