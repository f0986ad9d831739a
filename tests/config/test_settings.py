"""Settings fail loudly at start, naming the variable; production settings are deploy-clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "hWQn0yq3J6o8bR6b8m3c6e3bB0t4Wn1p4Zr0vXc2Y5A="
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-" + "s3cr3t-" * 10,
    "ALLOWED_HOSTS": "kickoff.example.com",
    "PUBLIC_BASE_URL": "https://kickoff.example.com",
    "FIELD_ENCRYPTION_KEYS": GOOD_KEY,
    "DATABASE_URL": "sqlite:////tmp/kickoff-deploy-check.sqlite3",
    # Redis, as in production: sign-in lockouts count attempts in the cache (axes.W001).
    "CACHE_URL": "redis://127.0.0.1:6379/0",
}


def clean_environment():
    """The process environment without the test-only values tests/environment.py adds."""
    test_only = {*PRODUCTION, "SANDBOX", "DJANGO_ALLOW_ASYNC_UNSAFE", "EMAIL_BACKEND"}
    return {k: v for k, v in os.environ.items() if k not in test_only}


def run_manage(env_overrides, *args):
    env = clean_environment()
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_check_deploy_with_no_warning():
    result = run_manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_KEY", "", "SECRET_KEY must be set when DEBUG is off"),
        ("FIELD_ENCRYPTION_KEYS", "not-a-key", "FIELD_ENCRYPTION_KEYS: key #1 is not a Fernet key"),
        ("PUBLIC_BASE_URL", "kickoff.example.com", "PUBLIC_BASE_URL must be an absolute http(s)"),
        ("DEBUG", "perhaps", "DEBUG must be true or false"),
        ("HTTP_TIMEOUT_SECONDS", "soon", "HTTP_TIMEOUT_SECONDS"),
        ("TALLYFY_API_BASE_URL", "ftp://x", "TALLYFY_API_BASE_URL must be an absolute http(s)"),
    ],
)
def test_a_bad_value_stops_the_start_and_names_the_variable(variable, value, message):
    result = run_manage({**PRODUCTION, variable: value}, "check")
    assert result.returncode != 0
    assert message in result.stderr


def test_production_defaults_point_at_the_real_vendors_and_hide_the_sandbox():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SANDBOX, s.TALLY_API_BASE_URL, s.TALLYFY_API_BASE_URL, "
        "s.TALLYFY_OAUTH_TOKEN_URL)"
    )
    env = clean_environment()
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="config.settings")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "False",
        "https://api.tally.so",
        "https://go.tallyfy.com/api",
        "https://account.tallyfy.com/oauth/token",
    ]


def test_the_retry_schedule_is_the_published_one_unless_the_environment_sets_it():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(','.join(f'{x:g}' for x in s.DELIVERY_RETRY_SCHEDULE))"
    )

    def schedule(**env_overrides):
        env = {k: v for k, v in clean_environment().items() if k != "DELIVERY_RETRY_SCHEDULE"}
        env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="config.settings", **env_overrides)
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        ).stdout.strip()

    assert schedule() == "30,120,600,1800,7200,21600,43200"  # as README.md publishes it
    assert schedule(DELIVERY_RETRY_SCHEDULE="5,60") == "5,60"


def test_check_deploy_warns_when_the_sandbox_is_on_in_production():
    """Issue #17, finding 8: fake vendors mounted with DEBUG off is a deploy warning."""
    result = run_manage({**PRODUCTION, "SANDBOX": "true"}, "check", "--deploy")
    assert "kickoff.W001" in result.stderr + result.stdout
    assert "SANDBOX is on while DEBUG is off" in result.stderr + result.stdout
