"""Setting one person's role: the Viewers/Operators groups, the staff and superuser flags."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from integrations.audit import audit_record

from ..access import role_label

# The role a superuser may give, as (value, label), most access last.
CHOICES = [
    ("none", "No access"),
    ("viewer", "Viewer"),
    ("operator", "Operator"),
    ("admin", "Administrator"),
]
GROUPS = {"viewer": "Viewers", "operator": "Operators"}


class RoleRefused(Exception):
    """The change is not allowed; the message says why, for the person who asked."""


def role_of(user) -> str:
    """The CHOICES value that describes this user now."""
    return {
        "No access": "none",
        "Viewer": "viewer",
        "Operator": "operator",
        "Administrator": "admin",
    }[role_label(user)]


@transaction.atomic
def set_role(*, actor, user, role: str) -> bool:
    """Give `user` the role; returns False when it already had it. Audited."""
    if role not in dict(CHOICES):
        raise RoleRefused(f"Unknown role {role!r}.")
    if user.pk == actor.pk and role != "admin":
        raise RoleRefused(
            "You cannot take away your own administrator rights: another administrator "
            "can, so Kickoff always keeps at least one."
        )
    before = role_of(user)
    if before == role:
        return False
    user.is_staff = role != "none"
    user.is_superuser = role == "admin"
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.remove(*Group.objects.filter(name__in=GROUPS.values()))
    if role in GROUPS:
        user.groups.add(Group.objects.get(name=GROUPS[role]))
    labels = dict(CHOICES)
    audit_record(
        actor=actor,
        action="user.role_changed",
        obj=user,
        summary=f"{actor.get_username()} changed {user.get_username()}'s role from "
        f"{labels[before]} to {labels[role]}",
        before=before,
        after=role,
    )
    return True
