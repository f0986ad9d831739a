"""One permission per kind of action; the Viewers and Operators groups become groups of
them (integrations/roles.py). Operators keep every action; Viewers keep export."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from integrations.roles import ensure_roles


def update_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the roles need them now.
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    ensure_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0013_task_completion"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="connection",
            options={
                "ordering": ["provider", "label"],
                "permissions": [
                    (
                        "connect_account",
                        "Can connect, reconnect and disconnect Tally and Tallyfy accounts",
                    )
                ],
            },
        ),
        migrations.AlterModelOptions(
            name="delivery",
            options={
                "permissions": [
                    ("retry_delivery", "Can retry deliveries and cancel scheduled ones"),
                    ("export_data", "Can export deliveries and form submissions as CSV"),
                ]
            },
        ),
        migrations.AlterModelOptions(
            name="mapping",
            options={
                "ordering": ["name", "id"],
                "permissions": [
                    ("edit_mapping", "Can build and edit mappings and send test launches"),
                    (
                        "switch_mapping",
                        "Can enable, disable, archive and restore mappings and re-register "
                        "webhooks",
                    ),
                ],
            },
        ),
        migrations.RunPython(update_roles, migrations.RunPython.noop),
    ]
