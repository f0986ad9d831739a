"""The sandbox Tally's data: users, forms, submissions, webhooks and their delivery log.

Everything a real Tally account would hold, kept small. Question definitions live as JSON
on the form (see `catalog.py` for their shape); answers live as JSON on the submission,
keyed by question id, in the webhook value shapes of docs/vendor-notes.md.
"""

from __future__ import annotations

from django.db import models


class TallyUser(models.Model):
    """A Tally user; its personal API key is `api_key` (`tly-…`)."""

    id = models.CharField(primary_key=True, max_length=12)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField()
    organization_id = models.CharField(max_length=12)
    workspace_id = models.CharField(max_length=12)
    subscription_plan = models.CharField(max_length=20, default="PRO")
    api_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Form(models.Model):
    id = models.CharField(primary_key=True, max_length=12)
    owner = models.ForeignKey(TallyUser, on_delete=models.CASCADE, related_name="forms")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, default="PUBLISHED")
    is_closed = models.BooleanField(default=False)
    # [{id, type, title, required, options?, rows?, columns?, variables?}], in form order.
    questions = models.JSONField(default=list)
    has_conditional_logic = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Submission(models.Model):
    """One response. `public_id` is Tally's 6-char id; the integer pk breaks time ties."""

    public_id = models.CharField(max_length=12, unique=True)
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="submissions")
    respondent_id = models.CharField(max_length=12)
    is_completed = models.BooleanField(default=True)
    submitted_at = models.DateTimeField()
    # {question id: value} in webhook value shapes; hidden/calculated/payment are dicts.
    answers = models.JSONField(default=dict)
    # Analytics dimensions, seeded deterministically.
    source = models.CharField(max_length=40, default="Direct")
    device = models.CharField(max_length=20, default="Desktop")
    country = models.CharField(max_length=40, default="Belgium")
    duration_seconds = models.PositiveIntegerField(default=60)

    class Meta:
        indexes = [
            # GET /forms/{id}/submissions: newest first, sliced in SQL; afterId and
            # startDate/endDate are range conditions on the same (submitted_at, id) order.
            models.Index(fields=["form", "submitted_at", "id"], name="sbx_tally_sub_form_time"),
            # filter=completed|partial and the per-filter counts.
            models.Index(
                fields=["form", "is_completed", "submitted_at"], name="sbx_tally_sub_form_done"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class Webhook(models.Model):
    id = models.CharField(primary_key=True, max_length=12)
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    signing_secret = models.CharField(max_length=200, blank=True, default="")  # "" = none
    http_headers = models.JSONField(default=list)
    event_types = models.JSONField(default=list)
    external_subscriber = models.CharField(max_length=200, blank=True, default="")
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.id} → {self.url}"


class WebhookEvent(models.Model):
    """One delivery-log entry: an event to one webhook, its status and retry count.

    A manual redelivery appends a new entry carrying the same payload (same eventId).
    """

    QUEUED = "QUEUED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    DROPPED = "DROPPED"
    STATUSES = [(s, s) for s in (QUEUED, SUCCEEDED, FAILED, DROPPED)]

    public_id = models.CharField(max_length=40, unique=True)  # the log entry's `id`
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=40, db_index=True)  # the payload's eventId
    event_type = models.CharField(max_length=40, default="FORM_RESPONSE")
    submission = models.ForeignKey(Submission, on_delete=models.SET_NULL, null=True, blank=True)
    payload = models.TextField()  # the exact body sent, serialized once
    status = models.CharField(max_length=12, choices=STATUSES, default=QUEUED)
    status_code = models.IntegerField(null=True, blank=True)
    response = models.TextField(blank=True, default="")
    retry = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # deliver_due: FAILED events whose next attempt is due.
            models.Index(fields=["status", "next_attempt_at"], name="sbx_tally_evt_due"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"


class OAuthCode(models.Model):
    code = models.CharField(primary_key=True, max_length=64)
    user = models.ForeignKey(TallyUser, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.CharField(max_length=2000)
    scope = models.CharField(max_length=200)
    code_challenge = models.CharField(max_length=200, blank=True, default="")
    code_challenge_method = models.CharField(max_length=10, blank=True, default="")
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.code


class AccessToken(models.Model):
    """An OAuth access token. Refreshing creates a new row with the same refresh token."""

    token = models.CharField(max_length=80, unique=True)
    refresh_token = models.CharField(max_length=80, db_index=True)
    user = models.ForeignKey(TallyUser, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=200)
    scope = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.token[:10]


class Fault(models.Model):
    """The next `remaining` API calls answer with `kind` (500, 429 or hang). One row, pk=1."""

    kind = models.CharField(max_length=8, default="500")
    remaining = models.PositiveIntegerField(default=0)
    retry_after = models.PositiveIntegerField(default=1)
    hang_seconds = models.FloatField(default=15.0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.kind} x{self.remaining}"


class RateWindow(models.Model):
    """Requests per token per minute (in the DB so threads and processes share it)."""

    token_hash = models.CharField(max_length=64)
    window = models.BigIntegerField()  # epoch minute
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token_hash", "window"], name="sbx_tally_rate_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.token_hash[:8]}@{self.window}: {self.count}"
