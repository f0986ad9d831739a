"""Kickoff's two roles, as Django groups of permissions that each say what they grant.

One permission per kind of action (declared on the models' Meta):

- `connect_account`: connect, reconnect, disconnect Tally and Tallyfy accounts
- `edit_mapping`: build and edit mappings, listen for a sample, send a test launch
- `switch_mapping`: enable, disable, archive, restore, re-register a webhook
- `retry_delivery`: retry deliveries (one, a selection, all matching), cancel scheduled
  tries, pick a run, ask Tally to redeliver
- `export_data`: download the deliveries and form submissions CSVs

**Viewers** look and export (an export shows nothing a viewer cannot already see on the
pages); **Operators** may do everything. An administrator can make other groups from
these permissions in the admin (e.g. "may retry but not edit mappings").
"""

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
ACTIONS = [
    "connect_account",
    "edit_mapping",
    "switch_mapping",
    "retry_delivery",
    "export_data",
]
VIEWERS = [*VIEW, "export_data"]
OPERATORS = [*VIEW, *ACTIONS]
ROLES = {"Viewers": VIEWERS, "Operators": OPERATORS}


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
