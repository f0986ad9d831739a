"""Retry now: staff skip the wait of a delivery whose automatic retry is scheduled.

The delivery is taken at once by one conditional UPDATE (retrying → pending), so a double
click, or the scheduled try arriving meanwhile, still makes one try; the staff try then
claims it like any staff retry (`Delivery.STAFF_CLAIMABLE`).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .models import Delivery, DeliveryAttempt
from .outbox import RETRY_DELIVERY, requeue_seconds, task_publish


def delivery_retry_now(delivery: Delivery, *, user) -> Delivery:
    """A retrying delivery → pending, tried by a staff task now; returns it as it is now,
    with `retry_accepted` False when no retry was scheduled any more."""
    now = timezone.now()
    with transaction.atomic():
        accepted = bool(
            Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.RETRYING).update(
                status=Delivery.Status.PENDING,
                # Keeps the sweep off while the task is on its way (as a retry does).
                next_attempt_at=now + timedelta(seconds=requeue_seconds()),
                updated_at=now,
            )
        )
        if accepted:
            audit_record(
                actor=user,
                action="delivery.retried_now",
                obj=delivery,
                summary=f"Retried delivery {delivery.pk} now instead of at its scheduled time",
                scheduled_for=delivery.next_attempt_at.isoformat()
                if delivery.next_attempt_at
                else None,
            )
            user_id = user.pk if getattr(user, "is_authenticated", False) else None
            transaction.on_commit(
                lambda: task_publish(
                    RETRY_DELIVERY, delivery.pk, DeliveryAttempt.Trigger.STAFF, user_id, False
                )
            )
    fresh = Delivery.objects.get(pk=delivery.pk)
    fresh.retry_accepted = accepted
    return fresh
