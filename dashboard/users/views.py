"""The Users & roles page (superusers only): who is a Viewer, an Operator, an Administrator."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from integrations.models import AuditEvent

from ..access import superuser_required
from .roles import CHOICES, RoleRefused, role_of, set_role


@superuser_required
def users(request):
    people = get_user_model().objects.filter(is_active=True).order_by("username")
    rows = [(person, role_of(person)) for person in people]
    history = AuditEvent.objects.filter(action="user.role_changed").select_related("actor")[:10]
    return render(
        request,
        "dashboard/users/list.html",
        {"rows": rows, "choices": CHOICES, "history": history},
    )


@superuser_required
@require_POST
def user_role(request, pk: int):
    person = get_object_or_404(get_user_model(), pk=pk, is_active=True)
    role = request.POST.get("role", "")
    try:
        changed = set_role(actor=request.user, user=person, role=role)
    except RoleRefused as exc:
        messages.error(request, str(exc))
    else:
        label = dict(CHOICES)[role]
        if changed:
            messages.success(request, f"{person.get_username()} is now: {label}.")
        else:
            messages.info(request, f"{person.get_username()} already was: {label}.")
    return redirect("dashboard:users")
