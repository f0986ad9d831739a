"""Signal receivers of the integrations app, connected once from `IntegrationsConfig.ready`."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from .held import deliveries_resume_held
from .models import Connection, Provider


@receiver(post_save, sender=Connection, dispatch_uid="kickoff-resume-held-deliveries")
def _connection_saved(sender, instance: Connection, update_fields=None, **kwargs) -> None:
    """A Tallyfy connection that is active again (reconnected) resumes its held deliveries."""
    if instance.provider != Provider.TALLYFY or instance.status != Connection.Status.ACTIVE:
        return
    if update_fields is not None and "status" not in update_fields:
        return
    deliveries_resume_held(instance)
