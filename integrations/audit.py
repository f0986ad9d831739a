from __future__ import annotations

from axes.signals import user_locked_out
from django.dispatch import receiver

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


@receiver(user_locked_out, dispatch_uid="kickoff-audit-lockout")
def record_lockout(sender, request, username, ip_address, **kwargs) -> AuditEvent:
    """A sign-in lockout (django-axes) is a security event: keep it in the audit log.

    Only lockouts are written, never single failed attempts (those stay in the cache), so
    a password-guessing flood costs one row per username or address per cool-off."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    User = get_user_model()
    who = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    page = "the admin sign-in" if request.path.startswith("/admin/") else "sign-in"
    return audit_record(
        actor=None,
        action="signin.locked_out",
        obj=who or User(),
        summary=(
            f"{page.capitalize()} locked for “{username or '?'}” from {ip_address or '?'} "
            f"after {settings.AXES_FAILURE_LIMIT} failed attempts"
        ),
        username=username or "",
        ip_address=ip_address or "",
        path=request.path,
    )
