"""Celery interface of the sandbox Tally: run due webhook retries (schedule every few seconds)."""

from celery import shared_task

from . import services


@shared_task(name="sandbox_tally.deliver_due", ignore_result=True)
def deliver_due() -> int:
    """Retry every FAILED webhook event whose next attempt is due; returns how many ran."""
    return len(services.deliver_due())
