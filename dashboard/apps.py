from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self):
        # Kickoff's own `check --deploy` warnings.
        from config import checks  # noqa: F401
