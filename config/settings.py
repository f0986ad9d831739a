"""Kickoff settings: one file, driven by the environment (django-environ).

Every value comes from an environment variable (or an optional `.env` file beside
manage.py). A bad value stops the process at start with a message naming the variable.
"""

from __future__ import annotations

import base64
import binascii
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

VAR_DIR.mkdir(exist_ok=True)  # the embedded defaults (SQLite, broker, cache) live here

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")


def _env(kind, name: str, **kwargs):
    """Read one variable; any parse error names the variable."""
    try:
        return getattr(env, kind)(name, **kwargs)
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # environ raises ValueError and friends on bad values
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, default: bool) -> bool:
    """Strict booleans: a typo like DEBUG=ture must not silently mean False."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), got {raw!r}")


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value.rstrip("/")


# --- Core -----------------------------------------------------------------------------
DEBUG = _bool("DEBUG", False)
SECRET_KEY = _env("str", "SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-for-make-run-" + "x" * 32
ALLOWED_HOSTS = _env("list", "ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
PUBLIC_BASE_URL = _url(
    "PUBLIC_BASE_URL", _env("str", "PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
)
SANDBOX = _bool("SANDBOX", DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_filters",
    "django_celery_beat",
    "axes",
    "integrations",
    "dashboard",
]
if SANDBOX:
    INSTALLED_APPS += [
        "integrations.sandbox",
        "integrations.sandbox.tally",
        "integrations.sandbox.tallyfy",
    ]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.security.SecurityHeadersMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.shell",
            ],
        },
    }
]

# --- Database --------------------------------------------------------------------------
DATABASES = {
    "default": _env("db_url", "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'kickoff.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL lets readers run beside the writer,
    # IMMEDIATE takes the write lock up front (no upgrade deadlocks), and the timeout makes
    # a busy writer wait instead of failing. https://www.sqlite.org/wal.html
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Tests use a file too (not Django's shared-cache in-memory database, whose table
    # locks ignore the busy timeout), so concurrency behaves as it does in `make run`.
    # One file per test process, so parallel runs in one checkout don't collide.
    DATABASES["default"].setdefault(
        "TEST", {"NAME": str(VAR_DIR / f"test-kickoff-{os.getpid()}.sqlite3")}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", _env("int", "CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", _bool("CONN_HEALTH_CHECKS", False))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -----------------------------------------------------------------------------
# A file cache is shared by web, worker and beat on one machine; Redis in production.
CACHES = {"default": _env("cache_url", "CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

# --- Auth, sessions, security ------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"

_https = PUBLIC_BASE_URL.startswith("https://")
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", not DEBUG and _https)
SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", not DEBUG and _https)
CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", not DEBUG and _https)
SECURE_HSTS_SECONDS = _env("int", "SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", not DEBUG)
if _bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sign-in throttling (django-axes) on /login/ and /admin/login/: after AXES_FAILURE_LIMIT
# wrong passwords for one username, or from one address, further attempts for it are
# refused for AXES_COOLOFF_TIME. Counted in the cache (Redis in production) so a failed
# attempt writes nothing to the database; each lockout leaves an audit event.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = _env("int", "AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=_env("float", "AXES_COOLOFF_MINUTES", default=15.0))
# Either counter locks: a username guessed from many addresses, or one address trying
# many usernames. A locked username unlocks by itself after the cool-off (or at once with
# `manage.py axes_reset_username <name>`).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
AXES_SENSITIVE_PARAMETERS = ["password"]
if DEBUG:
    # axes.W001: the file and local-memory caches of development and tests work for one
    # machine; production sets CACHE_URL to Redis (and the warning shows if it does not).
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]
CSRF_TRUSTED_ORIGINS = [f"{urlsplit(PUBLIC_BASE_URL).scheme}://{urlsplit(PUBLIC_BASE_URL).netloc}"]

# --- Encryption of secrets at rest -------------------------------------------------------


def _fernet_keys(raw: list[str]) -> list[str]:
    for i, key in enumerate(raw):
        try:
            if len(base64.urlsafe_b64decode(key.encode())) != 32:
                raise ValueError
        except (ValueError, binascii.Error):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key #{i + 1} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from None
    return raw


FIELD_ENCRYPTION_KEYS = _env("list", "FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off")
    # A fixed development key: `make run` works with nothing configured. Never used in
    # production because DEBUG is off there and the variable is then required.
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(b"kickoff-dev-only-key-not-secret!").decode()]
FIELD_ENCRYPTION_KEYS = _fernet_keys(FIELD_ENCRYPTION_KEYS)

# --- Vendors -----------------------------------------------------------------------------
_sandbox = f"{PUBLIC_BASE_URL}/sandbox"


def _vendor_url(name: str, real: str, sandbox: str) -> str:
    return _url(name, _env("str", name, default=sandbox if SANDBOX else real))


TALLY_API_BASE_URL = _vendor_url(
    "TALLY_API_BASE_URL", "https://api.tally.so", f"{_sandbox}/tally/api"
)
TALLY_OAUTH_AUTHORIZE_URL = _vendor_url(
    "TALLY_OAUTH_AUTHORIZE_URL",
    "https://tally.so/oauth/authorize",
    f"{_sandbox}/tally/oauth/authorize",
)
TALLY_OAUTH_TOKEN_URL = _vendor_url(
    "TALLY_OAUTH_TOKEN_URL", "https://api.tally.so/oauth/token", f"{_sandbox}/tally/api/oauth/token"
)
# Where a respondent opens a form (`/r/<form id>?hidden=value` prefills hidden fields):
# the follow-up links Kickoff puts into Tallyfy processes.
TALLY_FORMS_BASE_URL = _vendor_url(
    "TALLY_FORMS_BASE_URL", "https://tally.so/r", f"{_sandbox}/tally/r"
)
TALLY_CLIENT_ID = _env("str", "TALLY_CLIENT_ID", default="kickoff-sandbox" if SANDBOX else "")
TALLY_CLIENT_SECRET = _env(
    "str", "TALLY_CLIENT_SECRET", default="kickoff-sandbox-secret" if SANDBOX else ""
)
# Space-separated; empty sends no `scope` (Tally defines none, docs/vendor-notes.md).
TALLY_OAUTH_SCOPES = _env("str", "TALLY_OAUTH_SCOPES", default="")
TALLY_API_VERSION = "2025-02-01"
TALLY_RATE_LIMIT = _env("str", "TALLY_RATE_LIMIT", default="100/minute")

TALLYFY_API_BASE_URL = _vendor_url(
    "TALLYFY_API_BASE_URL", "https://go.tallyfy.com/api", f"{_sandbox}/tallyfy/api"
)
TALLYFY_OAUTH_AUTHORIZE_URL = _vendor_url(
    "TALLYFY_OAUTH_AUTHORIZE_URL",
    "https://account.tallyfy.com/oauth/authorize",
    f"{_sandbox}/tallyfy/oauth/authorize",
)
TALLYFY_OAUTH_TOKEN_URL = _vendor_url(
    "TALLYFY_OAUTH_TOKEN_URL",
    "https://account.tallyfy.com/oauth/token",
    f"{_sandbox}/tallyfy/oauth/token",
)
TALLYFY_CLIENT_ID = _env("str", "TALLYFY_CLIENT_ID", default="1001" if SANDBOX else "")
TALLYFY_CLIENT_SECRET = _env(
    "str", "TALLYFY_CLIENT_SECRET", default="kickoff-sandbox-secret" if SANDBOX else ""
)
TALLYFY_APP_BASE_URL = _vendor_url(
    "TALLYFY_APP_BASE_URL", "https://go.tallyfy.com", f"{_sandbox}/tallyfy/app"
)
TALLYFY_RATE_LIMIT = _env("str", "TALLYFY_RATE_LIMIT", default="100/minute")

HTTP_TIMEOUT_SECONDS = _env("float", "HTTP_TIMEOUT_SECONDS", default=10.0)
# Where the shared rate limiter keeps its counters: Redis in production so every web
# and worker process shares one budget per vendor account.
RATE_LIMIT_STORAGE_URL = _env("str", "RATE_LIMIT_STORAGE_URL", default="memory://")

# Sandbox only: Tally's webhook retry schedule is multiplied by this (0.001 turns
# minutes into fractions of a second for demos and tests).
SANDBOX_TIME_SCALE = _env("float", "SANDBOX_TIME_SCALE", default=1.0)
# Sandbox only: requests per minute the sandbox vendors allow (0 = unlimited, for
# benchmarks and soaks).
SANDBOX_TALLY_RATE_LIMIT = _env("int", "SANDBOX_TALLY_RATE_LIMIT", default=100)
SANDBOX_TALLYFY_RATE_LIMIT = _env("int", "SANDBOX_TALLYFY_RATE_LIMIT", default=100)


def _sandbox_variant(name: str, *values: str) -> str:
    """Sandbox only: one vendor variant; the first value is the default."""
    value = _env("str", name, default=values[0]).strip().lower()
    if value not in values:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(values)}, got {value!r}")
    return value


# Sandbox only: where the vendor notes allow several behaviours, which one the sandbox
# vendors show (each can also be flipped on their pages and control API).
SANDBOX_TALLY_QUESTIONS_SHAPE = _sandbox_variant("SANDBOX_TALLY_QUESTIONS_SHAPE", "fields", "uuid")
SANDBOX_TALLY_ANSWER_KEY = _sandbox_variant("SANDBOX_TALLY_ANSWER_KEY", "answer", "value")
SANDBOX_TALLY_AFTER_ID = _sandbox_variant("SANDBOX_TALLY_AFTER_ID", "newer", "older")
SANDBOX_TALLY_BLOCK_OPTIONS = _sandbox_variant("SANDBOX_TALLY_BLOCK_OPTIONS", "with", "without")
SANDBOX_TALLY_WEBHOOK_EVENTS = _sandbox_variant("SANDBOX_TALLY_WEBHOOK_EVENTS", "listed", "missing")
SANDBOX_TALLYFY_RUNS_SEARCH = _sandbox_variant(
    "SANDBOX_TALLYFY_RUNS_SEARCH", "name_and_summary", "name_only"
)
SANDBOX_TALLYFY_SUMMARY = _sandbox_variant("SANDBOX_TALLYFY_SUMMARY", "kept", "dropped")
SANDBOX_TALLYFY_TABLE_SHAPE = _sandbox_variant("SANDBOX_TALLYFY_TABLE_SHAPE", "strict", "lenient")
SANDBOX_TALLYFY_DEADLINE_FORMAT = _sandbox_variant(
    "SANDBOX_TALLYFY_DEADLINE_FORMAT", "iso", "space"
)
SANDBOX_TALLYFY_TEMPLATE_STEPS = _sandbox_variant(
    "SANDBOX_TALLYFY_TEMPLATE_STEPS", "listed", "absent"
)
SANDBOX_TALLYFY_TASK_VALUES = _sandbox_variant(
    "SANDBOX_TALLYFY_TASK_VALUES", "both", "captures_only", "taskdata_only"
)

# --- Delivery pipeline ------------------------------------------------------------------
# Seconds to wait before each automatic retry of a failed launch (5xx, timeouts, network);
# after the last one the delivery fails for good and staff are emailed.
DELIVERY_RETRY_SCHEDULE = [
    float(s)
    for s in _env(
        "list",
        "DELIVERY_RETRY_SCHEDULE",
        default=["30", "120", "600", "1800", "7200", "21600", "43200"],
    )
]
# A worker owns a delivery this long (longer than the task's time limit); after that the
# sweep hands it to another worker.
DELIVERY_LEASE_SECONDS = _env("float", "DELIVERY_LEASE_SECONDS", default=90.0)
DELIVERY_REQUEUE_SECONDS = _env("float", "DELIVERY_REQUEUE_SECONDS", default=120.0)
# Most delivery ids per message the outbox dispatcher publishes (integrations/outbox.py).
DELIVERY_DISPATCH_BATCH = _env("int", "DELIVERY_DISPATCH_BATCH", default=20)
if DELIVERY_DISPATCH_BATCH < 1:
    raise ImproperlyConfigured("DELIVERY_DISPATCH_BATCH must be at least 1")
# Bearer token for GET /metrics (Prometheus); empty means /metrics answers 404.
METRICS_TOKEN = _env("str", "METRICS_TOKEN", default="")

# --- Celery ------------------------------------------------------------------------------
CELERY_BROKER_URL = _env("str", "CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redelivery of unacknowledged tasks after this long (acks_late): longer than any task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only once it finished, and a worker that dies mid-task hands
# the message back: the delivery pipeline is written to be safely re-run.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    "refresh-expiring-tokens": {
        "task": "integrations.refresh_expiring_tokens",
        "schedule": 5 * 60.0,
    },
    "sweep-deliveries": {"task": "integrations.sweep_deliveries", "schedule": 60.0},
    "reconcile-enabled-mappings": {
        "task": "integrations.reconcile_enabled_mappings",
        "schedule": 15 * 60.0,
    },
    "check-webhooks": {"task": "integrations.check_webhooks", "schedule": 15 * 60.0},
    "check-mapping-drift": {
        "task": "integrations.check_mapping_drift",
        "schedule": 30 * 60.0,
    },
}
if SANDBOX:
    # The sandbox's Tally retries failed webhook deliveries on its own schedule.
    CELERY_BEAT_SCHEDULE["sandbox-tally-deliver-due"] = {
        "task": "sandbox_tally.deliver_due",
        "schedule": 5.0,
    }

# --- I18N, static ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(_env("path", "STATIC_ROOT", default=VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email -------------------------------------------------------------------------------
EMAIL_BACKEND = _env(
    "str",
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = _env("str", "DEFAULT_FROM_EMAIL", default="kickoff@localhost")

# --- Logging -----------------------------------------------------------------------------
LOG_LEVEL = _env("str", "LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "quiet_ticks": {"()": "config.logfilters.QuietTicks"},
        "redact_oauth": {"()": "config.logfilters.RedactOAuthParams"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_oauth"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # Beat logs every due task at INFO; the sandbox's 5-second one would flood the log.
        "celery.beat": {"level": "WARNING"},
        # The dev server's access log, through the console handler: OAuth codes redacted.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "celery.worker.strategy": {"filters": ["quiet_ticks"]},
        "celery.app.trace": {"filters": ["quiet_ticks"]},
    },
}
