"""Who may use the dashboard: signed-in staff only."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def staff_required(view):
    """Anonymous users go to the login page; signed-in non-staff users get 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Kickoff is for staff members only.")
        return view(request, *args, **kwargs)

    wrapper.staff_only = True
    return wrapper
