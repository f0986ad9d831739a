"""Liveness and readiness probes for load balancers and orchestrators (no auth)."""

import os

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app


@require_GET
@never_cache
def healthz(request):
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # Connecting to the filesystem transport touches no disk: check its folders instead.
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders = {options.get(k, "") for k in ("data_folder_in", "data_folder_out")}
        return all(os.path.isdir(f) and os.access(f, os.W_OK) for f in folders)
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@require_GET
@never_cache
def readyz(request):
    """The database and the task broker are reachable; 503 names what is down."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    down = [name for name, ok in checks.items() if not ok]
    if down:
        return JsonResponse({"status": "unavailable", "down": down}, status=503)
    return JsonResponse({"status": "ok"})
