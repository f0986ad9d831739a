"""Deliveries held while their Tallyfy connection needs reconnecting, and their resume."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .models import Connection, Delivery
from .outbox import deliveries_enqueue

log = logging.getLogger(__name__)


def delivery_resume_if_reconnected(delivery: Delivery) -> None:
    """A reconnect may have happened while this try ran: don't leave the delivery held."""
    connection = Connection.objects.get(pk=delivery.mapping.tallyfy_connection_id)
    if connection.status == Connection.Status.ACTIVE:
        deliveries_resume_held(connection)


def deliveries_resume_held(connection: Connection) -> int:
    """Send every delivery held on this (now active) Tallyfy connection again."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(
                status=Delivery.Status.HELD, mapping__tallyfy_connection=connection
            ).values_list("pk", flat=True)
        )
        if not ids:
            return 0
        resumed = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.HELD).update(
            status=Delivery.Status.RETRYING, next_attempt_at=now, updated_at=now
        )
        transaction.on_commit(lambda: deliveries_enqueue(ids))
    log.info("resumed %d held deliveries of connection %s", resumed, connection.pk)
    return resumed
