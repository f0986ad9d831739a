"""Who may use the dashboard: signed-in staff only; changing things takes the Operator role.

Roles are Django groups (created by a migration): **Viewers** look, **Operators** also
connect accounts, edit and switch mappings, and retry deliveries. Superusers can do
everything, and give people their roles on the Users & roles page (/users/).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

OPERATE_PERMISSION = "integrations.retry_delivery"

STAFF_ONLY_MESSAGE = "Kickoff is for staff members only."
OPERATORS_ONLY_MESSAGE = (
    "Your role can look but not change this. Ask an administrator to add you "
    "to the Operators group."
)
SUPERUSERS_ONLY_MESSAGE = "Only administrators (superusers) manage users and roles."


def staff_required(view):
    """Anonymous users go to the login page; signed-in non-staff users get 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied(STAFF_ONLY_MESSAGE)
        return view(request, *args, **kwargs)

    wrapper.staff_only = True
    return wrapper


def can_operate(user) -> bool:
    """May this person change things (connections, mappings, retries)?"""
    return bool(user.is_active and user.is_staff and user.has_perm(OPERATE_PERMISSION))


def operator_required(view):
    """Staff only, and only Operators (or superusers) get past; viewers get 403."""

    @staff_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_operate(request.user):
            raise PermissionDenied(OPERATORS_ONLY_MESSAGE)
        return view(request, *args, **kwargs)

    wrapper.operators_only = True
    return wrapper


def superuser_required(view):
    """Staff only, and only superusers get past (the Users & roles page)."""

    @staff_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied(SUPERUSERS_ONLY_MESSAGE)
        return view(request, *args, **kwargs)

    wrapper.operators_only = True  # a viewer may not use it either
    return wrapper


def role_label(user) -> str:
    """The role shown beside a person's name: what they may do, in one word."""
    if not (user.is_active and user.is_staff):
        return "No access"
    if user.is_superuser:
        return "Administrator"
    return "Operator" if can_operate(user) else "Viewer"
