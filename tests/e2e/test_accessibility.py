"""Every page passes axe-core (vendored in the axe-core-python package, no CDN) with no
serious or critical violation, and fits a 390-px phone without sideways scrolling."""

from pathlib import Path

import axe_core_python
import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.seeded_pages import seed_pages

AXE_JS = Path(axe_core_python.__file__).with_name("axe.min.js")
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} — ` +
      v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
}"""


@pytest.fixture
def browser_context_args(browser_context_args):
    """axe is test tooling injected into the page: its inline <script> must pass the app's
    Content-Security-Policy (script-src 'self'), which rightly refuses inline scripts."""
    return {**browser_context_args, "bypass_csp": True}


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(RUN_AXE)


def sign_in(page, base, username, password):
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


@pytest.fixture
def admin(db):
    return get_user_model().objects.create_superuser("ada", "ada@example.com", "admin-pass-123")


@pytest.fixture
def pages(sandbox_seeded, operator, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    return seed_pages(operator)


def test_every_page_has_no_serious_or_critical_axe_violation(
    page, live_kickoff, pages, admin, viewer, screenshot
):
    found = {}
    page.goto(f"{live_kickoff}/login/")
    found["login"] = axe_violations(page)

    sign_in(page, live_kickoff, "victor", "viewer-pass-123")
    response = page.goto(f"{live_kickoff}{pages['users']}")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    found["403"] = axe_violations(page)
    sign_out(page)

    sign_in(page, live_kickoff, "ada", "admin-pass-123")
    for name, path in pages.items():
        response = page.goto(f"{live_kickoff}{path}")
        assert response.status == 200, (name, response.status)
        page.wait_for_load_state("networkidle")
        found[name] = axe_violations(page)
    bad = {name: v for name, v in found.items() if v}
    assert not bad, "\n".join(f"{name}: {line}" for name, v in bad.items() for line in v)


def test_axe_finds_a_violation_when_there_is_one(page, live_kickoff):
    """The check above can fail: an unlabelled input and an image without text are caught."""
    page.goto(f"{live_kickoff}/login/")
    page.evaluate("""() => {
      const main = document.querySelector("main");
      main.insertAdjacentHTML("beforeend",
        '<input id="nameless"><img src="/static/favicon.svg">');
    }""")
    violations = axe_violations(page)
    assert any(v.startswith("label ") for v in violations), violations
    assert any(v.startswith("image-alt ") for v in violations), violations


PHONE_PAGES = [
    "overview",
    "connections",
    "forms",
    "form submissions",
    "mappings",
    "mapping",
    "preview",
    "deliveries",
    "delivery",
    "users",
]


def test_every_main_page_fits_a_390_px_phone(page, live_kickoff, pages, admin, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_kickoff, "ada", "admin-pass-123")
    too_wide = {}
    for name in PHONE_PAGES:
        page.goto(f"{live_kickoff}{pages[name]}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[name] = width
        screenshot(page, f"phone-{name.replace(' ', '-')}")
    assert not too_wide, too_wide

    # The sidebar is a top bar: its navigation opens from the menu button.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Mappings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mappings")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
