"""The sandbox Tally as a Django app."""

from django.apps import AppConfig


class SandboxTallyConfig(AppConfig):
    name = "integrations.sandbox.tally"
    label = "sandbox_tally"
    verbose_name = "Sandbox Tally"
