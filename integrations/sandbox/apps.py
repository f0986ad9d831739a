"""The sandbox umbrella app (its index page and shared templates)."""

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The sandbox umbrella: its index page and shared templates."""

    name = "integrations.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox"
