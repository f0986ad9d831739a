"""Browser tests: real Chromium against a live Kickoff (see `live_kickoff`)."""

from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def signed_in_page(page, live_kickoff, operator):
    page.goto(f"{live_kickoff}/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("operator-pass-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_kickoff}/")
    return page


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
