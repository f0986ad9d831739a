"""Kickoff's domain model."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

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
        # One permission per kind of action (integrations/roles.py groups them into roles).
        permissions = [
            ("connect_account", "Can connect, reconnect and disconnect Tally and Tallyfy accounts")
        ]
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


class Mapping(models.Model):
    """A flow: one Tally form's submissions launch processes from one Tallyfy template.

    Its content lives in immutable MappingVersions; `current_version` is what new
    deliveries use, and each delivery records the version it was launched with.
    """

    class Kind(models.TextChoices):
        LAUNCH = "launch", "Launch a process"
        COMPLETE_TASK = "complete_task", "Complete a task"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ENABLED = "enabled", "Enabled"
        DISABLED = "disabled", "Disabled"
        # Out of the way for good: disabled, its Tally webhook gone unless another mapping
        # of the form uses it; its deliveries stay in history.
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200)
    tally_connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="mappings_from"
    )
    form_id = models.CharField(max_length=32)
    form_name = models.CharField(max_length=250, blank=True)
    tallyfy_connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="mappings_to"
    )
    template_id = models.CharField(max_length=64)
    template_name = models.CharField(max_length=250, blank=True)
    # What a submission does: launch a process from the template, or complete one step's
    # task in a running process of it (`step_id`, the step's title in `step_name`).
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.LAUNCH)
    step_id = models.CharField(max_length=64, blank=True)
    step_name = models.CharField(max_length=250, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    current_version = models.ForeignKey(
        "MappingVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Drift: the template or the form changed under the mapping. Set by the drift check
    # (on view and periodically) with the exact differences; cleared by saving a version
    # that fits again.
    attention = models.JSONField(default=list, blank=True)
    attention_checked_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("edit_mapping", "Can build and edit mappings and send test launches"),
            (
                "switch_mapping",
                "Can enable, disable, archive and restore mappings and re-register webhooks",
            ),
        ]
        indexes = [
            # The receiver: enabled mappings of a form (fan-out of one submission).
            models.Index(fields=["tally_connection", "form_id", "status"], name="mapping_form"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_attention(self) -> bool:
        return bool(self.attention)

    @property
    def display_status(self) -> str:
        if self.needs_attention:
            return "needs attention"
        return self.get_status_display().lower()


class MappingVersion(models.Model):
    """One saved state of a mapping. Never updated after creation."""

    mapping = models.ForeignKey(Mapping, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name_template = models.CharField(max_length=550)
    summary_template = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    folders = models.JSONField(default=list, blank=True)
    owner_id = models.BigIntegerField(null=True, blank=True)
    # Launch rules, stored as the engine's shapes (integrations.launchrules converts):
    # whether to take a submission (`condition` {join, clauses}; `otherwise`: take it
    # when no conditional mapping of the form does), who gets the work (`people`), by when
    # (`deadlines`), and tags from answers (`tag_rules`).
    condition = models.JSONField(default=dict, blank=True)
    otherwise = models.BooleanField(default=False)
    people = models.JSONField(default=list, blank=True)
    deadlines = models.JSONField(default=list, blank=True)
    tag_rules = models.JSONField(default=list, blank=True)
    # Launch mappings: the Tally form `{followup_link}` opens, prefilled with this
    # delivery's reference (a "Complete a task" mapping of that form finds the run by it).
    followup_form_id = models.CharField(max_length=32, blank=True)
    # "Complete a task" mappings: which run (`run_match`: {how: "hidden", run_key, task_key,
    # ref_key} or {how: "field", field_id, field_label, source_key, pick: "only"|"newest"})
    # and, for an approval step, which answer approves (`approval`: {source_key, approve:
    # [option texts], reject: [option texts]}).
    run_match = models.JSONField(default=dict, blank=True)
    approval = models.JSONField(default=dict, blank=True)
    # What the two sides looked like when this version was saved: the drift check
    # compares today's template and form against these.
    template_fields = models.JSONField(default=list)
    template_steps = models.JSONField(default=list, blank=True)
    form_questions = models.JSONField(default=list)
    change_summary = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["mapping", "number"], name="one_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.mapping} v{self.number}"


class FieldMapping(models.Model):
    """Where one Tallyfy kick-off field gets its value, within one mapping version."""

    class Source(models.TextChoices):
        FIELD = "field", "Tally field"
        CONSTANT = "constant", "Constant"
        TEMPLATE = "template", "Text template"
        NONE = "none", "Leave empty"

    version = models.ForeignKey(MappingVersion, on_delete=models.CASCADE, related_name="fields")
    target_field_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=250)
    target_type = models.CharField(max_length=32)
    target_required = models.BooleanField(default=False)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.NONE)
    source_key = models.CharField(max_length=200, blank=True)
    source_label = models.CharField(max_length=250, blank=True)
    source_type = models.CharField(max_length=40, blank=True)
    constant = models.JSONField(null=True, blank=True)
    template = models.TextField(blank=True)
    # Tally option id or text -> Tallyfy option text, for choice fields.
    option_map = models.JSONField(default=dict, blank=True)
    default = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-target_required", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "target_field_id"], name="one_rule_per_kickoff_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.target_label} ← {self.source_label or self.get_source_display()}"


class Installation(models.Model):
    """This Kickoff install's identity: one row, with a random key made at migration.

    The key goes into every launch marker, so two installs launching into one Tallyfy
    organization (production and staging, say) never adopt each other's runs: both
    have a delivery 138, but not with the same key.
    """

    key = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Installation {self.key}"

    @classmethod
    def current(cls) -> Installation:
        """The row (made if missing, e.g. after `manage.py flush`), cached per process."""
        global _installation
        if _installation is None:
            _installation, _ = cls.objects.get_or_create(
                pk=1, defaults={"key": secrets.token_hex(4)}
            )
        return _installation


_installation: Installation | None = None


def forget_installation() -> None:
    """Drop the per-process cache (tests flush the database under it)."""
    global _installation
    _installation = None


class WebhookState(models.TextChoices):
    PRESENT = "present", "Registered in Tally"
    DISABLED = "disabled", "Disabled in Tally"
    MISSING = "missing", "Missing in Tally"


class Endpoint(models.Model):
    """Where Tally posts one form's submissions: one per (Tally connection, form), shared by
    every enabled mapping of that form."""

    tally_connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="endpoints"
    )
    form_id = models.CharField(max_length=32)
    # The unguessable part of /hooks/tally/<key>/.
    key = models.CharField(max_length=64, unique=True)
    signing_secret = EncryptedTextField()
    tally_webhook_id = models.CharField(max_length=64, blank=True)
    signature_failures = models.PositiveIntegerField(default=0)
    last_signature_failure_at = models.DateTimeField(null=True, blank=True)
    # Reconcile's high-water mark: the newest Tally submission up to which everything is
    # known to be ingested (Tally's `afterId`); empty until the first reconcile.
    reconcile_after_id = models.CharField(max_length=64, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # Reconcile pages Tally's submissions by date from here (minus an overlap); null until
    # the first reconcile, which starts from the endpoint's creation.
    reconcile_since = models.DateTimeField(null=True, blank=True)
    # Until then the endpoint's webhook is registered for "Listen for a test submission":
    # what arrives is stored but launches nothing.
    listening_until = models.DateTimeField(null=True, blank=True)
    # What the last look at Tally's webhooks found for this endpoint's webhook.
    webhook_state = models.CharField(max_length=16, choices=WebhookState.choices, blank=True)
    webhook_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tally_connection", "form_id"], name="one_endpoint_per_form"
            )
        ]

    def __str__(self) -> str:
        return f"Endpoint for form {self.form_id}"


class Submission(models.Model):
    """One Tally submission as received: the raw body verbatim, never rewritten."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        BACKFILL = "backfill", "Backfill"
        RECONCILE = "reconcile", "Reconcile"

    endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    tally_connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Tally may deliver one event several times, and several webhooks deliver one
    # submission with different event ids: both are unique (constraints below). NULL, not
    # "", when there is no event (a backfill), so those never collide on the constraint.
    event_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    form_id = models.CharField(max_length=32)
    submission_id = models.CharField(max_length=64)
    respondent_id = models.CharField(max_length=64, blank=True)
    form_name = models.CharField(max_length=250, blank=True)
    raw_body = models.BinaryField()
    headers = models.JSONField(default=dict, blank=True)
    # Answer text, flattened, for the deliveries search box.
    search_text = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEBHOOK)
    submitted_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # A constraint rather than unique=True: on PostgreSQL the latter adds a second
            # (LIKE) index that no query uses and every webhook would pay for.
            models.UniqueConstraint(fields=["event_id"], name="one_submission_per_event"),
            models.UniqueConstraint(
                fields=["form_id", "submission_id"], name="one_submission_per_form"
            ),
        ]
        indexes = [
            # The deliveries search box: a submission id or a respondent id typed as is.
            # (Answer text is searched through a trigram index on PostgreSQL, migration 0007.)
            models.Index(fields=["submission_id"], name="submission_by_id"),
            models.Index(fields=["respondent_id"], name="submission_by_respondent"),
        ]

    def __str__(self) -> str:
        return f"Submission {self.submission_id} of form {self.form_id}"

    @cached_property
    def payload(self) -> dict:
        """The envelope, parsed from the raw body (the receiver checked it is an object)."""
        try:
            data = json.loads(bytes(self.raw_body))
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


class Delivery(models.Model):
    """A submission going through one mapping: its state and the Tallyfy run it made."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Succeeded"
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"
        HELD = "held", "Held"
        CANCELLED = "cancelled", "Cancelled"
        # A try's outcome is unknown and no way of finding its run is known to work on this
        # Tallyfy organization: staff decide (adopt a candidate, or launch).
        NEEDS_CHECK = "needs_check", "Needs a check"
        # Nothing was sent: no enabled mapping of the form takes this submission (the
        # reason, in `last_error`, says which condition failed on which answer) ...
        SKIPPED = "skipped", "Skipped — no rule matched"
        # ... or another mapping of the form took it (routing by conditions).
        ROUTED = "routed", "Routed elsewhere"

    # No index of their own: one_delivery_per_mapping (submission, mapping) and
    # delivery_mapping_recent (mapping, …) lead with these columns already.
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    mapping = models.ForeignKey(
        Mapping, on_delete=models.PROTECT, related_name="deliveries", db_index=False
    )
    mapping_version = models.ForeignKey(
        MappingVersion, on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    #: What Retry may send again. Never `succeeded` (that would launch a second process),
    #: never in flight (`pending`, `sending`, `retrying`).
    RETRYABLE = (Status.FAILED, Status.HELD, Status.CANCELLED, Status.SKIPPED, Status.ROUTED)
    #: What "Retry all matching" takes: not `routed` — another mapping took those
    #: submissions, and a bulk retry would only route them there again (one can be retried
    #: on its own after a condition is edited).
    BULK_RETRYABLE = (Status.FAILED, Status.HELD, Status.CANCELLED, Status.SKIPPED)
    #: Rows in these states change by themselves soon: the pages poll them until they settle.
    IN_FLIGHT = (Status.PENDING, Status.SENDING)
    #: What a staff try may claim (besides a `sending` one whose lease ran out): it skips the
    #: wait and may retry failed and held deliveries, never a succeeded one.
    STAFF_CLAIMABLE = (Status.PENDING, Status.RETRYING, Status.FAILED, Status.HELD)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Claimed by a worker until then; a sweep re-enqueues deliveries whose lease ran out.
    lease_until = models.DateTimeField(null=True, blank=True)
    # True once a launch was sent whose outcome we do not know (timeout, dropped
    # connection, worker killed): the next attempt looks for the run before launching.
    outcome_unknown = models.BooleanField(default=False)
    run_id = models.CharField(max_length=64, blank=True)
    run_url = models.URLField(max_length=500, blank=True)
    # "Complete a task" deliveries: the task completed (or found already complete).
    task_id = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Needs a check: the runs that might be this delivery's ({id, name, created_at, url}).
    candidates = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [
            ("retry_delivery", "Can retry deliveries and cancel scheduled ones"),
            ("export_data", "Can export deliveries and form submissions as CSV"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "mapping"], name="one_delivery_per_mapping"
            )
        ]
        indexes = [
            # The deliveries page: newest first, filtered by status (keyset pagination).
            models.Index(fields=["status", "-created_at", "-id"], name="delivery_status_recent"),
            models.Index(fields=["-created_at", "-id"], name="delivery_recent"),
            # The same, filtered by mapping.
            models.Index(fields=["mapping", "-created_at", "-id"], name="delivery_mapping_recent"),
            # The sweep: due retries and expired leases.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            # The deliveries search box: a Tallyfy run id pasted as is.
            models.Index(fields=["run_id"], name="delivery_by_run"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.status})"

    @property
    def marker(self) -> str:
        """Carried by the launch so a later attempt can find the run it made; unique
        across installs (see Installation)."""
        return f"kickoff-{Installation.current().key}-delivery-{self.pk}"


class DeliveryAttempt(models.Model):
    """One try at launching a delivery. Append-only history."""

    class Trigger(models.TextChoices):
        AUTO = "auto", "Automatic"
        STAFF = "staff", "Staff retry"
        BULK = "bulk", "Bulk retry"

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        ADOPTED = "adopted", "Found the run of an earlier attempt"
        RETRY = "retry", "Will retry"
        FAILED = "failed", "Failed"
        HELD = "held", "Held"
        UNKNOWN = "unknown", "Outcome unknown"
        NEEDS_CHECK = "needs_check", "Needs a check"
        SKIPPED = "skipped", "Skipped — no rule matched"
        ROUTED = "routed", "Routed elsewhere"
        # "Complete a task": the task was complete before this try wrote anything.
        ALREADY_COMPLETE = "already_complete", "Task already complete"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    mapping_version = models.ForeignKey(
        MappingVersion, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.AUTO)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_body = models.JSONField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    error_kind = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_number")
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}"


class DeliveryCall(models.Model):
    """One vendor call made during an attempt, with its request and answer: a launch makes
    one, completing a task several (read the task, save each field, complete it)."""

    attempt = models.ForeignKey(DeliveryAttempt, on_delete=models.CASCADE, related_name="calls")
    number = models.PositiveIntegerField()
    # What the call was for, in words ("Save “Estimate”", "Complete “Client sign-off”").
    label = models.CharField(max_length=250)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_body = models.JSONField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "number"], name="one_call_number")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.response_status})"


# --- Bulk retry (the Deliveries page's "Retry all N matching" and "Recover since…") -------


class BulkRetry(models.Model):
    """One "retry all matching" job: which deliveries it took (its items), how far it got.

    Accepting it only records the items; a Celery task works through them in the background
    at the Tallyfy rate limit, each through the same conditional retry as the Retry button,
    so a delivery fixed meanwhile (or retried twice) is skipped, never launched twice.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    description = models.CharField(max_length=500)
    # The Deliveries page filter it was started from (query-string values), or {"since": …}.
    filters = models.JSONField(default=dict, blank=True)
    use_current_version = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    # Items looked at (retried + skipped); `cursor` is the last item id taken.
    done = models.PositiveIntegerField(default=0)
    retried = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Touched by every step: a running job not touched for a while has lost its task.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The Deliveries page banner: jobs still running, newest first.
            models.Index(fields=["status", "-created_at"], name="bulkretry_running"),
        ]

    def __str__(self) -> str:
        return f"Bulk retry {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, int(self.done * 100 / self.total))


class BulkRetryItem(models.Model):
    """One delivery a bulk retry took when it was accepted (the snapshot it works through)."""

    bulk = models.ForeignKey(
        BulkRetry, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="bulk_items", db_index=False
    )
    # The job sent this delivery again (not skipped as fixed or in flight already): its
    # progress counts the outcomes of these only. A database default too: the job's items
    # are recorded by a raw INSERT … SELECT of (bulk, delivery).
    retried = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            # The bulk task: the job's next items in order (bulk = %s AND id > cursor).
            models.Index(fields=["bulk", "id"], name="bulkretryitem_next"),
            # A delivery's page: the bulk retries that took it.
            models.Index(fields=["delivery"], name="bulkretryitem_delivery"),
            # The progress page: the outcomes of the deliveries a job retried.
            models.Index(
                fields=["bulk", "delivery"],
                condition=models.Q(retried=True),
                name="bulkretryitem_retried",
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.delivery_id} in bulk retry {self.bulk_id}"


class VendorCheck(models.Model):
    """What Kickoff has seen of one vendor assumption on one connection (see contract.py)."""

    class State(models.TextChoices):
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="checks")
    assumption = models.CharField(max_length=40)
    state = models.CharField(max_length=16, choices=State.choices)
    # What was seen, in words staff read (e.g. "found by listing the template's runs").
    detail = models.CharField(max_length=500, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "assumption"], name="one_check_per_assumption"
            )
        ]

    def __str__(self) -> str:
        return f"{self.assumption} on connection {self.connection_id}: {self.state}"
