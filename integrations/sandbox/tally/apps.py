from django.apps import AppConfig


class SandboxTallyConfig(AppConfig):
    name = "integrations.sandbox.tally"
    label = "sandbox_tally"
    verbose_name = "Sandbox Tally"
