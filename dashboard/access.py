"""Who may use the dashboard: signed-in staff only; each kind of change its permission.

Every view that changes something names the one permission its kind of action takes
(`@requires(RETRY)`); integrations/roles.py groups them into the two roles, **Viewers**
(look, export) and **Operators** (everything). Superusers can do everything, and give
people their roles on the Users & roles page (/users/).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from integrations.roles import VIEWERS

CONNECT = "integrations.connect_account"
EDIT_MAPPINGS = "integrations.edit_mapping"
SWITCH_MAPPINGS = "integrations.switch_mapping"
RETRY = "integrations.retry_delivery"
EXPORT = "integrations.export_data"
#: The permissions that change something: holding any of them makes an "Operator".
ACTION_PERMISSIONS = (CONNECT, EDIT_MAPPINGS, SWITCH_MAPPINGS, RETRY)

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


def may(user, permission: str) -> bool:
    """Is this active staff member allowed this kind of action?"""
    return bool(user.is_active and user.is_staff and user.has_perm(permission))


def can_operate(user) -> bool:
    """May this person change anything at all (the "Operator" label, the banners' hints)?"""
    return any(may(user, p) for p in ACTION_PERMISSIONS)


def requires(permission: str, *, methods: tuple[str, ...] | None = None):
    """Staff only, and only people with `permission` (or superusers) get past; others 403.

    With `methods` (e.g. `("POST",)`) only those methods need it: the view shows its GET
    (a count, a confirmation) to every staff member. The permission is kept on the view
    so the access-matrix test can check every URL against every role."""

    def decorator(view):
        @staff_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if (methods is None or request.method in methods) and not may(request.user, permission):
                raise PermissionDenied(OPERATORS_ONLY_MESSAGE)
            return view(request, *args, **kwargs)

        wrapper.permission = permission
        wrapper.permission_methods = methods
        # A whole view the Viewers role may not use: viewers meet no link to it.
        wrapper.operators_only = methods is None and permission.split(".")[-1] not in VIEWERS
        return wrapper

    return decorator


def superuser_required(view):
    """Staff only, and only superusers get past (the Users & roles page)."""

    @staff_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied(SUPERUSERS_ONLY_MESSAGE)
        return view(request, *args, **kwargs)

    wrapper.operators_only = True  # a viewer may not use it either
    wrapper.superusers_only = True
    return wrapper


def role_label(user) -> str:
    """The role shown beside a person's name: what they may do, in one word."""
    if not (user.is_active and user.is_staff):
        return "No access"
    if user.is_superuser:
        return "Administrator"
    return "Operator" if can_operate(user) else "Viewer"
