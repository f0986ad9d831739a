"""A newcomer connects both sandbox vendors from the UI."""

from playwright.sync_api import expect


def test_connect_tally_and_tallyfy_with_approve_clicks(
    signed_in_page, sandbox_seeded, live_kickoff, screenshot
):
    page = signed_in_page
    page.get_by_role("link", name="Connections").click()
    screenshot(page, "connections-empty")

    page.get_by_role("button", name="Connect Tally", exact=True).click()
    expect(page.get_by_role("heading", name="Authorize")).to_be_visible()
    screenshot(page, "sandbox-tally-consent")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Connected Tally: dana.demo@example.com")

    page.get_by_role("button", name="Connect Tallyfy").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Choose a Tallyfy organization")).to_be_visible()
    screenshot(page, "tallyfy-choose-organization")
    page.get_by_label("Acme Operations").check()
    page.get_by_role("button", name="Connect this organization").click()
    expect(page.get_by_role("status")).to_contain_text("Connected Tallyfy: Acme Operations")

    table = page.locator("#connections")
    expect(table.get_by_role("row")).to_have_count(3)  # header + two connections
    expect(table).to_contain_text("dana.demo@example.com")
    expect(table).to_contain_text("Acme Operations")
    expect(table.locator(".badge.ok")).to_have_count(2)

    tallyfy_row = table.get_by_role("row").filter(has_text="Acme Operations")
    tallyfy_row.get_by_role("button", name="Test connection").click()
    expect(tallyfy_row).to_contain_text("27 templates")
    screenshot(page, "connections-both-connected")


def test_a_revoked_connection_shows_a_banner_and_reconnects(
    signed_in_page, sandbox_seeded, live_kickoff, screenshot
):
    import httpx

    page = signed_in_page
    page.goto(f"{live_kickoff}/connections/")
    page.get_by_role("button", name="Connect Tally", exact=True).click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Connected Tally")

    httpx.post(f"{live_kickoff}/sandbox/tally/control/tokens/revoke").raise_for_status()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".test-result")).to_contain_text("Token refresh failed")

    page.get_by_role("link", name="Overview").click()
    banner = page.get_by_role("alert")
    expect(banner).to_contain_text("needs reconnecting")
    screenshot(page, "needs-reconnect-banner")
    banner.get_by_role("button", name="Reconnect").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Reconnected Tally")
    expect(page.get_by_role("alert")).to_have_count(0)
