from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender, apps=None, **kwargs):
    from django.apps import apps as global_apps

    from .roles import ensure_roles

    # `migrate` passes its historical registry; `flush` passes none.
    ensure_roles(apps or global_apps)


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self):
        # `signals`: held deliveries resume when their connection is saved active again.
        # `tasks`: the outbox publishes tasks by name, so every process must know them.
        # `audit`: its receiver records sign-in lockouts.
        from . import audit, signals, tasks  # noqa: F401

        # The roles also come back after a database flush (tests, `manage.py flush`).
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="kickoff-roles")
