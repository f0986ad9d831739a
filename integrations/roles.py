"""Kickoff's two roles, as Django groups: Viewers look, Operators also change things."""

from __future__ import annotations

VIEW = [
    "view_connection",
    "view_mapping",
    "view_mappingversion",
    "view_delivery",
    "view_deliveryattempt",
    "view_submission",
    "view_auditevent",
]
OPERATE = [
    *VIEW,
    "add_connection",
    "change_connection",
    "delete_connection",
    "add_mapping",
    "change_mapping",
    "retry_delivery",
]
ROLES = {"Viewers": VIEW, "Operators": OPERATE}


def ensure_roles(apps) -> None:
    """Create or update both groups. Idempotent; `apps` is the (historical) app registry."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="integrations", codename__in=codenames
            )
        )
