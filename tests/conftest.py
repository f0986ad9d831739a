"""Shared fixtures: named users, and the system Chromium for browser tests."""

import pytest
from django.contrib.auth import get_user_model

from integrations.http import NoThrottle, set_throttle

SCREENSHOTS = "test-artifacts/screenshots"


@pytest.fixture(autouse=True)
def no_client_throttle():
    """Tests make many vendor calls per minute with reused account keys; the shared rate
    limiter has tests of its own."""
    set_throttle(NoThrottle())
    yield
    set_throttle(None)


@pytest.fixture
def operator(db):
    """A staff member who runs Kickoff day to day."""
    return get_user_model().objects.create_user(
        "olivia", "olivia@example.com", "operator-pass-123", is_staff=True
    )


@pytest.fixture
def outsider(db):
    """A signed-in user who is not staff: must see nothing."""
    return get_user_model().objects.create_user("oscar", "oscar@example.com", "outsider-pass-123")


@pytest.fixture
def staff_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browser here: drive Debian's Chromium.
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1360, "height": 900}}
