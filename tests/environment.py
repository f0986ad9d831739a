"""Loaded with `-p tests.environment` before pytest-django reads the settings.

The suite runs against whatever DATABASE_URL / CELERY_BROKER_URL the caller gives
(PostgreSQL + Redis in CI) and otherwise the embedded defaults. Everything else gets
test values here, so a bare `pytest` works.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SANDBOX", "true")
os.environ.setdefault("CACHE_URL", "locmemcache://")
# Live-server threads must not keep database sessions open after a request, or
# PostgreSQL refuses to drop the test database at the end.
os.environ.setdefault("CONN_MAX_AGE", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "k" * 40)
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Browser tests run Playwright's sync API (an event loop) in the test thread next to
# the ORM; Django would otherwise refuse ORM calls from there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
