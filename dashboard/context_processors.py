"""What every dashboard page's frame needs (navigation, roles, broken connections)."""

from django.conf import settings

from integrations.models import Connection

from .access import can_operate

NAV = [
    ("dashboard:overview", "Overview"),
    ("dashboard:connections", "Connections"),
    ("dashboard:forms", "Forms"),
    ("dashboard:mappings", "Mappings"),
    ("dashboard:deliveries", "Deliveries"),
]


def shell(request):
    """What every dashboard page needs for its frame: navigation and the sandbox flag."""
    match = getattr(request, "resolver_match", None)
    current = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    broken = []
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        broken = list(Connection.objects.filter(status=Connection.Status.NEEDS_RECONNECT))
    return {
        "can_operate": bool(user is not None and user.is_authenticated and can_operate(user)),
        "broken_connections": broken,
        "nav_items": [(name, label, name == current) for name, label in NAV],
        "sandbox_enabled": settings.SANDBOX,
    }
