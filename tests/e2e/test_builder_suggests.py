"""An operator builds a mapping with the builder's suggestions: one click accepts one, its
options are matched at once, and leaving with unsaved rows asks first."""

from playwright.sync_api import expect

from integrations.connections import connect_tally_api_key, connect_tallyfy_token
from tests.e2e.waits import wait_js

SETTLED = "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"


def onboarding_mapping(operator):
    from integrations.mappings import fetch_form, fetch_template, mapping_create
    from integrations.sandbox.tallyfy import seed

    tally, _ = connect_tally_api_key("tly-sandbox-demo-key", actor=operator)
    tallyfy, _ = connect_tallyfy_token("tallyfy-sandbox-demo-token", seed.ACME_ID, actor=operator)
    return mapping_create(
        name="Onboarding",
        tally_connection=tally,
        form=fetch_form(tally, "wMDkzb"),
        tallyfy_connection=tallyfy,
        template=fetch_template(tallyfy, seed.CLIENT_ONBOARDING_ID),
        actor=operator,
    )


def test_accept_a_suggestion_see_its_options_matched_and_be_warned_before_leaving(
    signed_in_page, sandbox_seeded, operator, live_kickoff, screenshot
):
    from integrations.sandbox.tallyfy import seed

    mapping = onboarding_mapping(operator)
    row = f"#row-{seed.field_id('client-onboarding', 'plan')}"
    page = signed_in_page
    page.goto(f"{live_kickoff}/mappings/{mapping.pk}/edit/")
    plan = page.locator(row)
    expect(plan.locator(".bx-suggest")).to_contain_text("suggested Plan")
    screenshot(page, "builder-suggests")

    with page.expect_response(lambda r: "/edit/row/" in r.url):
        plan.get_by_role("button", name="Accept Plan for Plan").click()
    wait_js(page, SETTLED)
    plan = page.locator(row)
    expect(plan.get_by_label("Value for Plan")).to_have_value("field:question_Gv6sUb")
    # Matched at once, not "— no match —" until saved and reloaded.
    for text in ("Starter", "Growth", "Enterprise"):
        expect(plan.get_by_label(text, exact=True)).to_have_value(text)
    expect(plan.locator(".badge.ok")).to_have_text("Fits")

    # Leaving with the accepted row unsaved asks first; staying keeps the page.
    dialogs = []

    def stay(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_role("link", name="Back to mapping").click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert page.url.endswith(f"/mappings/{mapping.pk}/edit/")

    # Saving is leaving on purpose: no question.
    page.remove_listener("dialog", stay)
    page.on("dialog", lambda d: dialogs.append(d.type) or d.dismiss())
    page.get_by_role("button", name="Save mapping").click()
    page.wait_for_url(f"{live_kickoff}/mappings/{mapping.pk}/")
    assert dialogs == ["beforeunload"]
