"""What the sandbox Tallyfy does: launch runs, update and complete tasks, issue tokens,
count requests, and flip fault switches. Views stay thin and call these."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import switches
from .models import (
    AccessToken,
    AuthorizationCode,
    Fault,
    Organization,
    RateCounter,
    RefreshToken,
    Run,
    Task,
    User,
)
from .values import check_value, deadline_problem, is_empty, is_int

NAME_MAX = 550
ACCESS_TOKEN_TTL = 3600
CODE_TTL = 600


@dataclass
class Invalid(Exception):
    """A 422: per-field errors keyed by field id (or request key), Laravel style."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""

    def body(self) -> dict[str, Any]:
        """The 422 body: a message and per-field errors."""
        messages = [m for ms in self.errors.values() for m in ms]
        message = self.message or (messages[0] if messages else "The given data was invalid.")
        if not self.message and len(messages) > 1:
            extra = len(messages) - 1
            message += f" (and {extra} more error{'s' if extra > 1 else ''})"
        body: dict[str, Any] = {"message": message}
        if self.errors:
            body["errors"] = self.errors
        return body


class Forbidden(Exception):
    """A 403: the token works but may not do this."""


# --- People ----------------------------------------------------------------------------------


def org_people(org: Organization) -> tuple[set[int], set[str]]:
    """The organization's member ids and group ids."""
    return set(org.members.values_list("id", flat=True)), set(
        org.groups.values_list("id", flat=True)
    )


def check_owners(owners: Any, users: set[int], groups: set[str]) -> str | None:
    """What is wrong with an owners object, or None."""
    if not isinstance(owners, dict) or set(owners) - {"users", "guests", "groups"}:
        return 'owners must be an object {"users": [int], "guests": [email], "groups": [id]}.'
    if not all(isinstance(owners.get(k, []), list) for k in ("users", "guests", "groups")):
        return "owners.users, owners.guests and owners.groups must be lists."
    if not all(is_int(u) and u in users for u in owners.get("users", [])):
        return "owners.users contains an unknown user id."
    if not all(isinstance(g, str) and g in groups for g in owners.get("groups", [])):
        return "owners.groups contains an unknown group id."
    if not all(isinstance(g, str) and "@" in g for g in owners.get("guests", [])):
        return "owners.guests must be email addresses."
    return None


def owners_lists(value: dict | None) -> dict[str, list]:
    """An owners object with all three lists."""
    value = value or {}
    return {k: list(value.get(k, [])) for k in ("users", "guests", "groups")}


# --- Tasks ---------------------------------------------------------------------------------


def task_update(*, task: Task, body: Any) -> Task:
    """PUT a task: `taskdata` merges values per task field id; `owners` replaces the owners."""
    if not isinstance(body, dict):
        raise Invalid({"body": ["The request body must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    users, groups = org_people(task.run.organization)
    table_shape = switches.current(switches.TABLE_SHAPE)
    taskdata_in = body.get("taskdata", {})
    if taskdata_in is None:
        taskdata_in = {}
    if not isinstance(taskdata_in, dict):
        errors["taskdata"] = ["The taskdata must be an object keyed by form field id."]
        taskdata_in = {}
    updates: dict[str, Any] = {}
    for capture in task.step.captures:
        if capture["id"] not in taskdata_in:
            continue
        value = taskdata_in[capture["id"]]
        if problem := check_value(
            capture, value, users=users, groups=groups, table_shape=table_shape
        ):
            errors[capture["id"]] = [problem]
        else:
            updates[capture["id"]] = value
    if "owners" in body and (problem := check_owners(body["owners"], users, groups)):
        errors["owners"] = [problem]
    deadline_format = switches.current(switches.DEADLINE_FORMAT)
    if problem := deadline_problem(body.get("deadline"), deadline_format):
        errors["deadline"] = [problem]
    if errors:
        raise Invalid(errors)
    task.taskdata = {**task.taskdata, **updates}
    if "owners" in body:
        task.owners = owners_lists(body["owners"])  # replaces: absent lists mean nobody
    if "deadline" in body:
        task.deadline = body["deadline"]
    if isinstance(body.get("title"), str) and body["title"].strip():
        task.title = body["title"]
    task.save()
    return task


def capture_save(*, task: Task, body: Any) -> tuple[dict[str, Any], bool]:
    """POST a task's captures: one form field `{id, value}`, checked like a kick-off value.

    Answers the capture with its value and whether it had no value before (201 vs 200);
    saving the same value again changes nothing.
    """
    if not isinstance(body, dict):
        raise Invalid({"body": ["The request body must be a JSON object."]})
    raw_id = body.get("id")
    capture_id = str(raw_id) if isinstance(raw_id, str | int) else None
    capture = next((c for c in task.step.captures if c["id"] == capture_id), None)
    if capture is None:
        raise Invalid({"id": [f"The selected id is invalid: not a form field of {task.title}."]})
    if "value" not in body:
        raise Invalid({"value": ["The value field is required."]})
    if task.status == "completed":
        raise Invalid({"id": ["This task has already been completed."]})
    users, groups = org_people(task.run.organization)
    table_shape = switches.current(switches.TABLE_SHAPE)
    value = body["value"]
    if problem := check_value(capture, value, users=users, groups=groups, table_shape=table_shape):
        raise Invalid({"value": [problem]})
    with transaction.atomic():
        # Lock the row: two captures of one task saved at once must both be kept.
        locked = Task.objects.select_for_update().get(pk=task.pk)
        created = is_empty(locked.taskdata.get(capture["id"]))
        locked.taskdata = {**locked.taskdata, capture["id"]: value}
        locked.save(update_fields=["taskdata"])
    return {**capture, "value": value}, created


def may_complete(task: Task, user: User) -> bool:
    """Whether user may complete task: anyone, unless the step lets only its assignees
    (a user among its owners, or a member of one of its groups)."""
    if not task.can_complete_only_assignees:
        return True
    owners = task.owners or {}
    if user.id in (owners.get("users") or []):
        return True
    return user.group_set.filter(id__in=owners.get("groups") or []).exists()


def task_complete(*, run: Run, user: User, body: Any) -> Task:
    """POST completed-tasks: fails on an unknown or already completed task, a caller who is
    not an assignee where only assignees may complete, empty required task fields (values
    cannot be sent here: save them first), and an approval without `is_approved`."""
    if not isinstance(body, dict) or not isinstance(body.get("task_id"), str):
        raise Invalid({"task_id": ["The task id field is required."]})
    task = run.tasks.select_related("step").filter(id=body["task_id"]).first()
    if task is None:
        raise Invalid({"task_id": ["The selected task id is invalid."]})
    if not may_complete(task, user):
        raise Forbidden("Only an assignee can complete this task.")
    if task.status == "completed":
        raise Invalid({"task_id": ["This task has already been completed."]})
    missing = {
        c["id"]: [f"{c['label']} is required"]
        for c in task.step.captures
        if c.get("required") and is_empty(task.taskdata.get(c["id"]))
    }
    if missing:
        raise Invalid(missing)
    is_approved = body.get("is_approved")
    if is_approved is not None and not isinstance(is_approved, bool):
        raise Invalid({"is_approved": ["The is approved field must be true or false."]})
    if task.task_type == "approval" and is_approved is None:
        raise Invalid({"is_approved": ["The is approved field is required for an approval task."]})
    if task.task_type != "approval":
        is_approved = None  # only an approval keeps a decision
    now = timezone.now()
    with transaction.atomic():
        # Claim the completion with a conditional update: two racing calls, one winner.
        claimed = (
            Task.objects.filter(pk=task.pk)
            .exclude(status="completed")
            .update(
                status="completed", completed_at=now, completed_by=user.id, is_approved=is_approved
            )
        )
        if not claimed:
            raise Invalid({"task_id": ["This task has already been completed."]})
        if not run.tasks.exclude(status="completed").exists():
            Run.objects.filter(pk=run.pk).update(status="complete", completed_at=now)
    task.refresh_from_db()
    return task


# --- Tokens ----------------------------------------------------------------------------------


def token_authenticate(raw: str) -> AccessToken | None:
    """The live token behind a bearer string, or None (unknown, expired or revoked)."""
    if not raw:
        return None
    token = AccessToken.objects.select_related("user").filter(token=raw).first()
    if token is None or token.revoked or token.expires_at <= timezone.now():
        return None
    return token


def token_can_reach(token: AccessToken, org: Organization) -> bool:
    """Whether the token may act on this organization."""
    if token.kind == AccessToken.PERSONAL:
        return token.organization_id == org.id
    return org.members.filter(id=token.user_id).exists()


def token_organizations(token: AccessToken):
    """The organizations a token reaches."""
    if token.kind == AccessToken.PERSONAL:
        return Organization.objects.filter(id=token.organization_id)
    return token.user.organizations.order_by("name")


def _access_ttl() -> int:
    """Seconds an OAuth access token lives."""
    return int(getattr(settings, "SANDBOX_TALLYFY_ACCESS_TOKEN_TTL", ACCESS_TOKEN_TTL))


def oauth_issue(*, user: User, client_id: str, scope: str) -> tuple[AccessToken, RefreshToken]:
    """A new OAuth access token and its refresh token."""
    access = AccessToken.objects.create(
        token=secrets.token_urlsafe(40),
        kind=AccessToken.OAUTH,
        user=user,
        client_id=client_id,
        scope=scope,
        expires_at=timezone.now() + timedelta(seconds=_access_ttl()),
    )
    refresh = RefreshToken.objects.create(token=secrets.token_urlsafe(48), access_token=access)
    return access, refresh


def token_response(access: AccessToken, refresh: RefreshToken) -> dict[str, Any]:
    """The token endpoint's JSON body."""
    return {
        "token_type": "Bearer",
        "expires_in": _access_ttl(),
        "access_token": access.token,
        "refresh_token": refresh.token,
    }


def oauth_code_issue(
    *, user: User, client_id: str, redirect_uri: str, scope: str, challenge: str, method: str
) -> str:
    """A new single-use authorization code."""
    code = AuthorizationCode.objects.create(
        code=secrets.token_urlsafe(32),
        client_id=client_id,
        user=user,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=challenge,
        code_challenge_method=method if challenge else "",
        expires_at=timezone.now() + timedelta(seconds=CODE_TTL),
    )
    return code.code


class GrantError(Exception):
    """An OAuth error answered as 400 `{error, error_description, message}`."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    """Whether the verifier matches the challenge (S256 or plain)."""
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return secrets.compare_digest(computed, challenge)


def oauth_exchange_code(*, client_id: str, code: str, redirect_uri: str, verifier: str):
    """authorization_code grant: the code is single use, bound to its redirect_uri and PKCE."""
    record = AuthorizationCode.objects.select_related("user").filter(code=code).first()
    if record is None or record.client_id != client_id or record.expires_at <= timezone.now():
        raise GrantError("invalid_grant", "The authorization code is invalid or has expired.")
    if record.redirect_uri != redirect_uri:
        raise GrantError("invalid_grant", "The redirect_uri does not match the authorization.")
    if record.code_challenge:
        if not verifier:
            raise GrantError("invalid_request", "The code_verifier parameter is required.")
        if not pkce_matches(verifier, record.code_challenge, record.code_challenge_method):
            raise GrantError("invalid_grant", "Failed to verify the code_verifier.")
    # Single use: only the call that flips `used` gets tokens.
    if not AuthorizationCode.objects.filter(pk=record.pk, used=False).update(used=True):
        raise GrantError("invalid_grant", "The authorization code has been revoked.")
    return oauth_issue(user=record.user, client_id=client_id, scope=record.scope)


def oauth_refresh(*, client_id: str, refresh_token: str):
    """refresh_token grant with rotation: the old refresh and access tokens stop working."""
    record = (
        RefreshToken.objects.select_related("access_token__user")
        .filter(token=refresh_token)
        .first()
    )
    if record is None or record.access_token.client_id != client_id:
        raise GrantError("invalid_grant", "The refresh token is invalid.")
    with transaction.atomic():
        if not RefreshToken.objects.filter(pk=record.pk, revoked=False).update(revoked=True):
            raise GrantError("invalid_grant", "The refresh token has been revoked.")
        AccessToken.objects.filter(pk=record.access_token_id).update(revoked=True)
        old = record.access_token
        return oauth_issue(user=old.user, client_id=client_id, scope=old.scope)


def tokens_expire(*, personal: bool = False) -> int:
    """Every OAuth access token (and personal tokens too when asked) expires now."""
    past = timezone.now() - timedelta(seconds=1)
    tokens = AccessToken.objects.filter(expires_at__gt=past)
    if not personal:
        tokens = tokens.filter(kind=AccessToken.OAUTH)
    return tokens.update(expires_at=past)


def tokens_revoke(*, personal: bool = True) -> int:
    """Every token dies, refresh tokens included (personal ones unless told otherwise)."""
    tokens = AccessToken.objects.all()
    if not personal:
        tokens = tokens.filter(kind=AccessToken.OAUTH)
    RefreshToken.objects.filter(access_token__in=tokens).update(revoked=True)
    return tokens.update(revoked=True)


# --- Rate limit --------------------------------------------------------------------------------


def clock() -> float:
    """Seconds since the epoch (a seam for tests)."""
    return time.time()


def rate_limit_per_minute() -> int:
    """Requests per minute per organization (0 = unlimited)."""
    return int(getattr(settings, "SANDBOX_TALLYFY_RATE_LIMIT", 100))


def rate_limit_hit(org_id: str) -> int | None:
    """Count one request for the org; the seconds to wait when over the limit, else None.

    A fixed one-minute window, counted in the database so every server process shares it.
    """
    limit = rate_limit_per_minute()
    if limit <= 0:
        return None
    now = clock()
    window = int(now // 60)
    counters = RateCounter.objects.filter(organization_id=org_id, window=window)
    if not counters.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                RateCounter.objects.create(organization_id=org_id, window=window, count=1)
        except IntegrityError:  # another request created it first
            counters.update(count=F("count") + 1)
        RateCounter.objects.filter(organization_id=org_id, window__lt=window - 1).delete()
    count = counters.values_list("count", flat=True).first() or 0
    if count > limit:
        return max(1, int((window + 1) * 60 - now + 0.999))
    return None


# --- Faults --------------------------------------------------------------------------------------


def fault_add(
    *,
    kind: str,
    count: int = 1,
    scope: str = "launch",
    retry_after: int = 1,
    hang_seconds: float = 5.0,
    variant: str = "message_errors",
) -> Fault:
    """Queue a fault after any others."""
    return Fault.objects.create(
        kind=kind,
        remaining=count,
        scope=scope,
        retry_after=retry_after,
        hang_seconds=hang_seconds,
        variant=variant,
    )


def fault_take(*, scope: str | None = None) -> Fault | None:
    """Consume one call of the oldest fault that applies, or None.

    A call in `scope` ("launch" or "tasks") takes faults of that scope and "all"; any other
    call only "all". The decrement is a conditional UPDATE (remaining > 0), so concurrent
    requests in any number of threads or processes never consume more calls than asked for.
    """
    scopes = Q(scope="all") | Q(scope=scope) if scope else Q(scope="all")
    for fault in Fault.objects.filter(scopes, remaining__gt=0).order_by("id"):
        taken = Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if taken:
            return fault
    return None


def faults_active():
    """Faults with calls left, oldest first."""
    return Fault.objects.filter(remaining__gt=0).order_by("id")


def faults_clear() -> None:
    """Forget every fault."""
    Fault.objects.all().delete()
