"""Celery tasks: thin wrappers that call a service (tasks are just another interface)."""

from celery import shared_task

from . import connections


@shared_task(name="integrations.refresh_expiring_tokens")
def refresh_expiring_tokens() -> int:
    """Refresh OAuth tokens that expire within the sweep margin."""
    return connections.refresh_expiring_connections()
