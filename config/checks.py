"""Kickoff's own system checks (registered by dashboard.apps.DashboardConfig.ready)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def sandbox_in_production(app_configs, **kwargs):
    """The sandbox mounts fake vendors (with their own unauthenticated control pages) and
    points the vendor URLs at them: never what a production start should have."""
    if getattr(settings, "SANDBOX", False) and not settings.DEBUG:
        return [
            Warning(
                "SANDBOX is on while DEBUG is off.",
                hint=(
                    "The fake Tally and Tallyfy are mounted under /sandbox/ and the vendor "
                    "URLs point at them. Set SANDBOX=false for production."
                ),
                id="kickoff.W001",
            )
        ]
    return []
