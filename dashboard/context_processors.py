"""What every dashboard page's frame needs (navigation, roles, broken connections)."""

from django.conf import settings

from integrations.models import Connection

from .access import can_operate, role_label

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
        broken = list(Connection.objects.filter(status=Connection.Status.NEEDS_RECONNECT))
    nav = (NAV + (ADMIN_NAV if user.is_superuser else [])) if staff else []
    context = {
        "can_operate": bool(signed_in and can_operate(user)),
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
