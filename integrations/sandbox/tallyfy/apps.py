"""The sandbox Tallyfy as a Django app."""

from django.apps import AppConfig


class SandboxTallyfyConfig(AppConfig):
    name = "integrations.sandbox.tallyfy"
    label = "sandbox_tallyfy"
    verbose_name = "Sandbox Tallyfy"
