"""Kickoff's domain model."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .crypto import EncryptedTextField, mask


class Provider(models.TextChoices):
    TALLY = "tally", "Tally"
    TALLYFY = "tallyfy", "Tallyfy"


class Connection(models.Model):
    """One connected Tally account or Tallyfy organization, and how Kickoff signs in to it."""

    class AuthKind(models.TextChoices):
        OAUTH = "oauth", "OAuth"
        API_KEY = "api_key", "API key"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        DISABLED = "disabled", "Disabled"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    # Tally: the user id from /users/me. Tallyfy: the organization id (a token is tied to
    # one organization). Together with provider this is what makes a second connect of the
    # same account an update rather than a duplicate.
    external_id = models.CharField(max_length=64)
    label = models.CharField(max_length=200, help_text="Account email or organization name.")
    account_email = models.CharField(max_length=254, blank=True)
    # Tally: the user's organizationId. Tallyfy: the signed-in user's id.
    external_secondary_id = models.CharField(max_length=64, blank=True)
    auth_kind = models.CharField(max_length=16, choices=AuthKind.choices)
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField(blank=True, default="")
    token_hint = models.CharField(max_length=16, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACTIVE)
    last_error = models.TextField(blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Set while one process refreshes the tokens: others wait for it instead of spending
    # the same refresh token (Tallyfy rotates them). Expires by itself if that process dies.
    refresh_lease_until = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="one_connection_per_account"
            )
        ]
        indexes = [
            # The token refresh sweep: active OAuth connections expiring soon.
            models.Index(fields=["status", "expires_at"], name="connection_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.label}"

    @property
    def is_oauth(self) -> bool:
        return self.auth_kind == self.AuthKind.OAUTH

    @property
    def needs_reconnect(self) -> bool:
        return self.status == self.Status.NEEDS_RECONNECT

    def expires_within(self, seconds: float) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now() + timedelta(
            seconds=seconds
        )

    def set_tokens(
        self, *, access_token: str, refresh_token: str | None, expires_in: float | None
    ) -> None:
        """Store a token response; a response without refresh_token keeps the old one."""
        self.access_token = access_token
        if refresh_token:
            self.refresh_token = refresh_token
        self.token_hint = mask(access_token)
        self.expires_at = (
            timezone.now() + timedelta(seconds=float(expires_in)) if expires_in else None
        )


class AuditEvent(models.Model):
    """Who did what to which object, and when. Append-only."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # An object's history on its detail page.
            models.Index(fields=["object_type", "object_id", "-created_at"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return self.summary
