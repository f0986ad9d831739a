"""Celery tasks, every one of them: thin wrappers that call a service (tasks are just another
interface). The outbox (`integrations.outbox`) publishes them by these names."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth import get_user_model

from . import connections, delivery, outbox, reconcile, retries, webhooks

log = logging.getLogger(__name__)


@shared_task(name="integrations.refresh_expiring_tokens")
def refresh_expiring_tokens() -> int:
    """Refresh OAuth tokens that expire within the sweep margin."""
    return connections.refresh_expiring_connections()


@shared_task(name=outbox.DELIVER, ignore_result=True)
def deliver(delivery_id: int) -> None:
    """One try at launching a delivery's process (claims it; a no-op if someone else has it).

    acks_late + reject_on_worker_lost (settings): a worker killed mid-try hands the
    message back; the delivery's lease and `outcome_unknown` make the re-run safe.
    """
    delivery.delivery_process_queued(delivery_id)


@shared_task(name=outbox.DELIVER_MANY, ignore_result=True)
def deliver_many(delivery_ids: list[int]) -> None:
    """`deliver` for each id in turn: how the outbox dispatcher sends new deliveries.

    Redelivered whole if the worker dies; the ids already done are no-ops (claimed).
    One delivery's unexpected error does not hold back the others (each one's state is
    in its row; the sweep picks up what is left).
    """
    for pk in delivery_ids:
        try:
            delivery.delivery_process_queued(pk)
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            log.exception("delivery %s: unexpected error", pk, extra={"delivery_id": pk})


@shared_task(name=outbox.RETRY_DELIVERY, ignore_result=True)
def retry_delivery(
    delivery_id: int, trigger: str, user_id: int | None, use_current_version: bool
) -> None:
    """One staff or bulk try at a delivery that a retry put back to pending."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    delivery.delivery_process(
        delivery_id, trigger=trigger, user=user, use_current_version=use_current_version
    )


@shared_task(name=outbox.BULK_RETRY_STEP, ignore_result=True)
def bulk_retry_step(bulk_id: int) -> None:
    """Retry the next rate-limited batch of a bulk job, then schedule the next step."""
    retries.bulk_retry_step(bulk_id)


@shared_task(name="integrations.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Re-enqueue deliveries whose task vanished and retries that are due, and restart
    bulk retries whose step task was lost."""
    swept = outbox.deliveries_sweep()
    retries.bulk_retries_nudge_stale()
    return swept


@shared_task(name="integrations.reconcile_enabled_mappings", ignore_result=True)
def reconcile_enabled_mappings() -> int:
    """Ingest Tally submissions that never arrived by webhook, for every enabled mapping."""
    return reconcile.reconcile_enabled_mappings()


@shared_task(name="integrations.check_webhooks", ignore_result=True)
def check_webhooks() -> dict[str, int]:
    """Record whether each enabled form's webhook is still registered and enabled in Tally."""
    return webhooks.webhooks_check_presence()


@shared_task(name="integrations.check_mapping_drift")
def check_mapping_drift() -> int:
    """Compare every saved mapping with its live template and form; returns how many drifted."""
    from .drift import mappings_check_drift

    return mappings_check_drift()
