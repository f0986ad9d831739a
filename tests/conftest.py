"""Shared fixtures: named users, and the system Chromium for browser tests."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, settings

from integrations.ratelimit import NoThrottle, set_throttle

SCREENSHOTS = "test-artifacts/screenshots"

# Property tests judge answers, not speed: on a loaded machine one example stalled past
# Hypothesis's 200 ms deadline (or slow generation) fails a test its replay then passes.
settings.register_profile("kickoff", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("kickoff")


@pytest.fixture(autouse=True)
def no_client_throttle():
    """Tests make many vendor calls per minute with reused account keys; the shared rate
    limiter has tests of its own."""
    set_throttle(NoThrottle())
    yield
    set_throttle(None)


@pytest.fixture(autouse=True)
def fresh_process_caches():
    """The receiver caches endpoints and the install's key is cached per process; tests
    flush the database under them, so each test starts without them."""
    from integrations.ingest import endpoint_cache
    from integrations.models import forget_installation

    endpoint_cache.clear()
    forget_installation()
    yield
    endpoint_cache.clear()
    forget_installation()


@pytest.fixture
def operator(db):
    """A staff member who runs Kickoff day to day (the Operators role)."""
    user = get_user_model().objects.create_user(
        "olivia", "olivia@example.com", "operator-pass-123", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Operators"))
    return user


@pytest.fixture
def viewer(db):
    """A staff member who may look but not change anything (the Viewers role)."""
    user = get_user_model().objects.create_user(
        "victor", "victor@example.com", "viewer-pass-123", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Viewers"))
    return user


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


@pytest.fixture
def live_kickoff(live_server, settings, transactional_db):
    """The live server with every vendor URL pointing at its own sandbox."""
    base = live_server.url
    sandbox = f"{base}/sandbox"
    settings.PUBLIC_BASE_URL = base
    settings.TALLY_API_BASE_URL = f"{sandbox}/tally/api"
    settings.TALLY_OAUTH_AUTHORIZE_URL = f"{sandbox}/tally/oauth/authorize"
    settings.TALLY_OAUTH_TOKEN_URL = f"{sandbox}/tally/api/oauth/token"
    settings.TALLY_FORMS_BASE_URL = f"{sandbox}/tally/r"
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
def task_queue(monkeypatch):
    """The delivery tasks go to an in-process queue instead of the broker."""
    from tests import pipeline_factories as pf

    return pf.FakeQueue().install(monkeypatch)


@pytest.fixture
def clean_cache():
    """Counters and once-per-10-minutes email keys live in the cache: start empty."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def abuse_samplers():
    """The receiver's log and write samplers start empty in every test (per process)."""
    from integrations import abuse

    abuse.rejection_logs.clear()
    abuse.signature_writes.clear()
    yield abuse
    abuse.rejection_logs.clear()
    abuse.signature_writes.clear()
