"""Browser tests: real Chromium against a live Kickoff with the sandbox vendors on the
same server, so OAuth redirects and webhooks travel over real HTTP."""

from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def live_kickoff(live_server, settings, transactional_db):
    """The live server with every vendor URL pointing at its own sandbox."""
    base = live_server.url
    sandbox = f"{base}/sandbox"
    settings.PUBLIC_BASE_URL = base
    settings.TALLY_API_BASE_URL = f"{sandbox}/tally/api"
    settings.TALLY_OAUTH_AUTHORIZE_URL = f"{sandbox}/tally/oauth/authorize"
    settings.TALLY_OAUTH_TOKEN_URL = f"{sandbox}/tally/api/oauth/token"
    settings.TALLYFY_API_BASE_URL = f"{sandbox}/tallyfy/api"
    settings.TALLYFY_OAUTH_AUTHORIZE_URL = f"{sandbox}/tallyfy/oauth/authorize"
    settings.TALLYFY_OAUTH_TOKEN_URL = f"{sandbox}/tallyfy/oauth/token"
    settings.TALLYFY_APP_BASE_URL = f"{sandbox}/tallyfy/app"
    return base


@pytest.fixture
def sandbox_seeded(live_kickoff):
    from integrations.sandbox.tally.seed import seed as seed_tally
    from integrations.sandbox.tallyfy.seed import seed as seed_tallyfy

    return seed_tally(), seed_tallyfy()


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
