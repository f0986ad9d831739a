"""A staff member signs in and finds every section of the dashboard."""

from playwright.sync_api import expect

SECTIONS = ["Overview", "Connections", "Forms", "Mappings", "Deliveries"]


def test_staff_sign_in_and_open_every_section(page, live_kickoff, operator, screenshot):
    page.goto(f"{live_kickoff}/deliveries/")
    expect(page).to_have_url(f"{live_kickoff}/login/?next=/deliveries/")
    screenshot(page, "login")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("operator-pass-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_kickoff}/deliveries/")

    for section in SECTIONS:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=section).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(section)
        link = page.get_by_role("navigation", name="Main").get_by_role("link", name=section)
        expect(link).to_have_attribute("aria-current", "page")
        screenshot(page, f"section-{section.lower()}")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_kickoff}/login/")


def test_a_wrong_password_is_refused_in_the_browser(page, live_kickoff, operator):
    page.goto(f"{live_kickoff}/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
