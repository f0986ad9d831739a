"""What every dashboard page's frame needs (navigation, roles, broken connections)."""

from django.conf import settings

from integrations.models import Connection

from .access import (
    CONNECT,
    EDIT_MAPPINGS,
    EXPORT,
    RETRY,
    SWITCH_MAPPINGS,
    can_operate,
    may,
    role_label,
)

NAV = [
    ("dashboard:overview", "Overview"),
    ("dashboard:connections", "Connections"),
    ("dashboard:forms", "Forms"),
    ("dashboard:mappings", "Mappings"),
    ("dashboard:deliveries", "Deliveries"),
]
ADMIN_NAV = [("dashboard:users", "Users & roles")]


def shell(request):
    """What every dashboard page needs for its frame: navigation and the sandbox flag."""
    match = getattr(request, "resolver_match", None)
    current = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    broken = []
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    staff = signed_in and user.is_active and user.is_staff
    if staff:
        # A Tallyfy organization pick left half-way must not keep live tokens around.
        from .connections.views import drop_stale_grant

        drop_stale_grant(request.session)
        broken = list(Connection.objects.filter(status=Connection.Status.NEEDS_RECONNECT))
    nav = (NAV + (ADMIN_NAV if user.is_superuser else [])) if staff else []
    context = {
        # Any action at all (the role's name, "an operator can…" hints) …
        "can_operate": bool(signed_in and can_operate(user)),
        # … and each kind of action, for the buttons that take it.
        "can_connect": bool(signed_in and may(user, CONNECT)),
        "can_edit_mappings": bool(signed_in and may(user, EDIT_MAPPINGS)),
        "can_switch_mappings": bool(signed_in and may(user, SWITCH_MAPPINGS)),
        "can_retry": bool(signed_in and may(user, RETRY)),
        "can_export": bool(signed_in and may(user, EXPORT)),
        "broken_connections": broken,
        "nav_items": [(name, label, name == current) for name, label in nav],
        "role_label": role_label(user) if signed_in else "",
        "sandbox_enabled": settings.SANDBOX,
    }
    if settings.SANDBOX and not signed_in:
        # The sandbox is a local demo: `make run` creates this account (config/devstack.py).
        from config.devstack import DEMO_PASSWORD, DEMO_USER

        context["demo_login"] = (DEMO_USER, DEMO_PASSWORD)
    return context
