"""The sandbox Tallyfy's data: organizations, templates (checklists), runs, tasks, tokens.

Vocabulary follows Tallyfy's API: template = checklist, process = run, kick-off form
field = prerun field, task form field = capture. Ids are strings shaped like Tallyfy's
(32 hex) so the product meets the same ids it will meet in production.
"""

from __future__ import annotations

import secrets

from django.db import models


def hex_id() -> str:
    """A new 32-hex id, the shape Tallyfy uses for orgs, checklists, runs, tasks and fields."""
    return secrets.token_hex(16)


class User(models.Model):
    """A Tallyfy member. Tallyfy user ids are integers."""

    id = models.PositiveIntegerField(primary_key=True)
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


class Organization(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(User, related_name="organizations")

    def __str__(self) -> str:
        return self.name


class Group(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(User, blank=True)

    def __str__(self) -> str:
        return self.name


class Checklist(models.Model):
    """A template."""

    id = models.CharField(primary_key=True, max_length=32)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="checklists"
    )
    title = models.CharField(max_length=250)
    summary = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


FIELD_TYPES = [
    "text",
    "textarea",
    "email",
    "date",
    "radio",
    "dropdown",
    "multiselect",
    "table",
    "file",
    "assignees_form",
]


class PrerunField(models.Model):
    """A kick-off form field. Its 32-hex `id` is the key a launch must use in `prerun`."""

    id = models.CharField(primary_key=True, max_length=32)
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="prerun")
    alias = models.CharField(max_length=100)
    label = models.CharField(max_length=250)
    field_type = models.CharField(max_length=20, choices=[(t, t) for t in FIELD_TYPES])
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    options = models.JSONField(default=list, blank=True)  # [{id: int, text}]
    columns = models.JSONField(default=list, blank=True)  # [{id, label}]
    guidance = models.TextField(blank=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.label


TASK_TYPES = ["task", "approval"]


class Step(models.Model):
    """A step of a template; each run gets one task per step."""

    id = models.CharField(primary_key=True, max_length=32)
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="steps")
    title = models.CharField(max_length=250)
    position = models.PositiveIntegerField(default=0)
    # An approval is completed with is_approved true or false.
    task_type = models.CharField(
        max_length=20, default="task", choices=[(t, t) for t in TASK_TYPES]
    )
    # Tallyfy's step setting: only the task's assignees may complete it (403 for others).
    can_complete_only_assignees = models.BooleanField(default=False)
    # Task form fields ("captures"), same shape as prerun fields: [{id, alias, label,
    # field_type, required, position, options, columns, guidance}]
    captures = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.title


class Run(models.Model):
    """A process launched from a template."""

    id = models.CharField(primary_key=True, max_length=32, default=hex_id)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="runs")
    checklist = models.ForeignKey(Checklist, on_delete=models.PROTECT, related_name="runs")
    name = models.CharField(max_length=550)
    summary = models.TextField(blank=True, null=True)  # noqa: DJ001 (Tallyfy sends null)
    status = models.CharField(max_length=20, default="active")
    prerun = models.JSONField(default=dict, blank=True)
    owner_id = models.PositiveIntegerField(null=True, blank=True)
    started_by = models.PositiveIntegerField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    folders = models.JSONField(default=list, blank=True)
    users = models.JSONField(default=list, blank=True)
    groups = models.JSONField(default=list, blank=True)
    roles = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # GET /organizations/{org}/runs?checklist_id&sort=-created_at
            models.Index(fields=["organization", "checklist", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=hex_id)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="tasks")
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=250)
    position = models.PositiveIntegerField(default=0)
    # Copied from the step at launch, as Tallyfy's tasks carry their own.
    task_type = models.CharField(
        max_length=20, default="task", choices=[(t, t) for t in TASK_TYPES]
    )
    can_complete_only_assignees = models.BooleanField(default=False)
    status = models.CharField(max_length=20, default="not-started")
    owners = models.JSONField(default=dict, blank=True)  # {users, guests, groups}
    deadline = models.CharField(max_length=40, blank=True, null=True)  # noqa: DJ001
    taskdata = models.JSONField(default=dict, blank=True)  # {capture id: value}
    is_approved = models.BooleanField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.title


class AccessToken(models.Model):
    """A bearer token: a personal access token (one org) or an OAuth token (all the user's orgs)."""

    PERSONAL = "personal"
    OAUTH = "oauth"

    token = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=10, choices=[(PERSONAL, PERSONAL), (OAUTH, OAUTH)])
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    # Personal tokens are tied to one organization; OAuth tokens reach all of the user's.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    scope = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} token for {self.user}"


class RefreshToken(models.Model):
    token = models.CharField(max_length=128, unique=True)
    access_token = models.OneToOneField(
        AccessToken, on_delete=models.CASCADE, related_name="refresh"
    )
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refresh token for {self.access_token}"


class AuthorizationCode(models.Model):
    code = models.CharField(max_length=128, unique=True)
    client_id = models.CharField(max_length=64)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    redirect_uri = models.CharField(max_length=2000)
    scope = models.CharField(max_length=200, blank=True)
    code_challenge = models.CharField(max_length=200, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"code for {self.client_id}"


class Fault(models.Model):
    """A switch: the next `remaining` API calls in `scope` misbehave as `kind`."""

    KINDS = ["500", "429", "422", "hang", "drop"]
    # launch = POST runs; tasks = the task writes (captures, PUT task, completed-tasks).
    SCOPES = ["launch", "tasks", "all"]
    VARIANTS = ["message_errors", "error_errors", "error_message"]

    kind = models.CharField(max_length=10, choices=[(k, k) for k in KINDS])
    remaining = models.PositiveIntegerField(default=1)
    scope = models.CharField(max_length=10, default="launch", choices=[(s, s) for s in SCOPES])
    retry_after = models.PositiveIntegerField(default=1)
    hang_seconds = models.FloatField(default=5.0)
    variant = models.CharField(max_length=20, default="message_errors")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} x{self.remaining} ({self.scope})"


class RateCounter(models.Model):
    """Requests an organization made in one clock minute (the per-org rate limit)."""

    organization_id = models.CharField(max_length=32)
    window = models.BigIntegerField()  # unix time // 60
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # One counter per org and minute: the atomic increment updates this row.
            models.UniqueConstraint(fields=["organization_id", "window"], name="sbx_tallyfy_rate_1")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}@{self.window}: {self.count}"


class Switch(models.Model):
    """A variant switch set from the home page or control API; absent = the setting's value."""

    name = models.CharField(primary_key=True, max_length=40)
    value = models.CharField(max_length=40)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
