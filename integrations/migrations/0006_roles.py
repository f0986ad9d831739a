"""Two roles as Django groups: Viewers look, Operators also change things.

Staff users in neither group are viewers; superusers can do everything.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from integrations.roles import ensure_roles


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; roles need them now.
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    ensure_roles(apps)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Viewers", "Operators"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0005_delivery_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
