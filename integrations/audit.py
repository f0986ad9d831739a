from __future__ import annotations

from .models import AuditEvent


def audit_record(*, actor, action: str, obj, summary: str, **data) -> AuditEvent:
    """Append one audit event. `data` must never carry a secret."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=type(obj).__name__,
        object_id=str(getattr(obj, "pk", "") or ""),
        summary=summary[:500],
        data=data,
    )
