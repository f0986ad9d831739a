"""Archiving a mapping: switched off for good, the form's Tally webhook deleted unless
another mapping needs it, its deliveries kept in history; and restoring one."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from .audit import audit_record
from .connections import NeedsReconnect
from .endpoints import mapping_endpoint, webhook_kept_by, webhook_remove
from .errors import MappingError
from .http import ApiError
from .models import Delivery, Endpoint, Mapping


@dataclass(frozen=True)
class ArchiveOutcome:
    """What archiving does (or did) to the form's Tally webhook, and the history kept."""

    webhook: str  # "deleted", "kept" (another mapping needs it), "none", "failed"
    deliveries: int
    kept_by: Mapping | None = None
    error: str = ""


def archive_plan(mapping: Mapping) -> ArchiveOutcome:
    """What archiving would do now; for an archived mapping, "deleted" means its webhook
    is still in Tally, waiting to be removed."""
    deliveries = Delivery.objects.filter(mapping=mapping).count()
    endpoint = mapping_endpoint(mapping)
    if endpoint is None or not endpoint.tally_webhook_id:
        return ArchiveOutcome("none", deliveries)
    kept_by = webhook_kept_by(mapping)
    return ArchiveOutcome("kept" if kept_by else "deleted", deliveries, kept_by=kept_by)


def mapping_archive(mapping: Mapping, *, actor) -> ArchiveOutcome:
    """Switch the mapping off for good and delete the form's Tally webhook unless another
    mapping needs it. Its deliveries stay (in-flight ones still finish).

    Archiving happens first and always: a webhook Tally would not delete (Tally down, the
    connection dead) only stays behind, harmless since nothing launches without an enabled
    mapping, and the page offers to remove it again (archiving again retries). Refusing
    instead would keep a dead Tally account's mappings, and so its connection, forever.
    """
    now = timezone.now()
    newly = (
        Mapping.objects.filter(pk=mapping.pk)
        .exclude(status=Mapping.Status.ARCHIVED)
        .update(status=Mapping.Status.ARCHIVED, archived_at=now, updated_at=now)
    )
    mapping.refresh_from_db(fields=["status", "archived_at"])
    outcome = archive_plan(mapping)
    if outcome.webhook == "deleted":
        endpoint = mapping_endpoint(mapping)
        try:
            webhook_remove(mapping, endpoint)
        except (ApiError, NeedsReconnect) as exc:
            outcome = ArchiveOutcome("failed", outcome.deliveries, error=str(exc))
        else:
            Endpoint.objects.filter(pk=endpoint.pk).update(listening_until=None)
    if newly or outcome.webhook == "deleted":
        action = "mapping.archived" if newly else "mapping.webhook_removed"
        summary = f"Archived {mapping}" if newly else f"Removed the Tally webhook of {mapping}"
        audit_record(
            actor=actor, action=action, obj=mapping, summary=summary, webhook=outcome.webhook
        )
    return outcome


def mapping_restore(mapping: Mapping, *, actor) -> None:
    """Bring an archived mapping back, switched off (Enable registers a webhook again)."""
    restored = Mapping.objects.filter(pk=mapping.pk, status=Mapping.Status.ARCHIVED).update(
        status=Mapping.Status.DISABLED, archived_at=None, updated_at=timezone.now()
    )
    if not restored:
        raise MappingError(f"{mapping} is not archived; there is nothing to restore.")
    mapping.status, mapping.archived_at = Mapping.Status.DISABLED, None
    audit_record(actor=actor, action="mapping.restored", obj=mapping, summary=f"Restored {mapping}")
