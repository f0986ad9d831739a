"""What the sandbox Tally does: authenticate, throttle, inject faults, store submissions,
deliver and retry webhooks. Views call these; so do the Celery task and the seed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from . import shapes
from .models import (
    AccessToken,
    Fault,
    Form,
    RateWindow,
    Submission,
    TallyUser,
    Webhook,
    WebhookEvent,
)

log = logging.getLogger(__name__)

# Docs: https://tally.so/help/webhooks — retried 5 times, then dropped.
RETRY_SCHEDULE_SECONDS = [5 * 60, 30 * 60, 60 * 60, 6 * 60 * 60, 24 * 60 * 60]
DELIVERY_TIMEOUT_SECONDS = 10.0
RESPONSE_KEEP_CHARS = 1000
ACCESS_TOKEN_SECONDS = 3600


def new_id(length: int = 6) -> str:
    """A fresh Tally-like id: letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


# --- Authentication ---------------------------------------------------------------------


@dataclass
class Caller:
    """Who calls: the user behind a personal API key or an OAuth access token."""

    user: TallyUser
    token: str


def caller_for_token(token: str) -> Caller | None:
    """The user behind a personal API key or a live OAuth access token, else None."""
    if not token:
        return None
    if token.startswith("tly-"):
        user = TallyUser.objects.filter(api_key=token).first()
        return Caller(user, token) if user else None
    row = (
        AccessToken.objects.select_related("user")
        .filter(token=token, revoked=False, expires_at__gt=timezone.now())
        .first()
    )
    return Caller(row.user, token) if row else None


def tokens_issue(*, user: TallyUser, client_id: str, scope: str, refresh_token: str | None = None):
    """A new OAuth access token (with a new refresh token unless one is given)."""
    return AccessToken.objects.create(
        token="tat-" + secrets.token_urlsafe(24),
        refresh_token=refresh_token or "trt-" + secrets.token_urlsafe(24),
        user=user,
        client_id=client_id,
        scope=scope,
        expires_at=timezone.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS),
    )


def tokens_expire_all() -> int:
    """Every live access token expires now; returns how many."""
    past = timezone.now() - timedelta(seconds=1)
    return AccessToken.objects.filter(expires_at__gt=past).update(expires_at=past)


def tokens_revoke_all() -> int:
    """Every access token (and so its refresh token) is revoked; returns how many."""
    return AccessToken.objects.filter(revoked=False).update(revoked=True)


# --- Rate limit ----------------------------------------------------------------------------


def rate_limit() -> int:
    """Requests per minute per token (0 = unlimited)."""
    return int(getattr(settings, "SANDBOX_TALLY_RATE_LIMIT", 100))


def rate_limit_hit(token: str) -> bool:
    """Count one request for `token` in this minute; True when over the limit (Tally: 100/min).

    Counted in the DB with a conditional UPDATE so web threads and processes share it.
    """
    limit = rate_limit()
    if limit <= 0:
        return False
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    window = int(time.time() // 60)
    rows = RateWindow.objects.filter(token_hash=token_hash, window=window)
    if not rows.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                RateWindow.objects.create(token_hash=token_hash, window=window, count=1)
        except IntegrityError:  # another thread created it first
            rows.update(count=F("count") + 1)
        RateWindow.objects.filter(window__lt=window - 1).delete()
    count = rows.values_list("count", flat=True).first() or 0
    return count > limit


# --- Faults ----------------------------------------------------------------------------------


def faults_set(*, kind: str, count: int, retry_after: int = 1, hang_seconds: float = 15.0):
    """The next `count` API calls answer with `kind` (500, 429 or hang)."""
    Fault.objects.update_or_create(
        pk=1,
        defaults={
            "kind": kind,
            "remaining": count,
            "retry_after": retry_after,
            "hang_seconds": hang_seconds,
        },
    )


def faults_clear() -> None:
    """No more faults: the API answers normally."""
    Fault.objects.filter(pk=1).update(remaining=0)


def faults_current() -> Fault | None:
    """The pending fault, or None."""
    fault = Fault.objects.filter(pk=1, remaining__gt=0).first()
    return fault


def fault_take() -> Fault | None:
    """Consume one pending fault, atomically (conditional UPDATE on the remaining count)."""
    for _ in range(5):
        fault = Fault.objects.filter(pk=1, remaining__gt=0).first()
        if fault is None:
            return None
        taken = Fault.objects.filter(pk=1, remaining=fault.remaining, kind=fault.kind).update(
            remaining=fault.remaining - 1
        )
        if taken:
            return fault
    return None


# --- Submissions ---------------------------------------------------------------------------


def submission_create(
    *,
    form: Form,
    answers: dict,
    completed: bool = True,
    submitted_at: datetime | None = None,
    source: str = "Direct",
    device: str = "Desktop",
    country: str = "Belgium",
    duration_seconds: int = 90,
) -> Submission:
    """Store one submission (no webhook yet) and touch the form's updatedAt."""
    sub = Submission.objects.create(
        public_id=new_id(),
        form=form,
        respondent_id=new_id(),
        is_completed=completed,
        submitted_at=submitted_at or timezone.now(),
        answers=answers,
        source=source,
        device=device,
        country=country,
        duration_seconds=duration_seconds,
    )
    Form.objects.filter(pk=form.pk).update(updated_at=timezone.now())
    return sub


# --- Webhooks ----------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """Docs: Tally-Signature = base64(HMAC-SHA256(secret, raw body)), no prefix."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def events_create_for_submission(sub: Submission) -> list[WebhookEvent]:
    """One QUEUED log entry per enabled FORM_RESPONSE webhook of the form, payload frozen."""
    events = []
    form = sub.form
    for hook in form.webhooks.filter(is_enabled=True).order_by("created_at", "id"):
        if "FORM_RESPONSE" not in hook.event_types:
            continue
        event_id = str(uuid.uuid4())
        envelope = shapes.webhook_envelope(
            event_id=event_id, created_at=timezone.now(), form=form, sub=sub
        )
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
        events.append(
            WebhookEvent.objects.create(
                public_id=event_id,
                webhook=hook,
                event_id=event_id,
                submission=sub,
                payload=body,
            )
        )
    return events


def deliver_submission(sub: Submission) -> list[WebhookEvent]:
    """Create the events of a completed submission and make their first attempt now."""
    if not sub.is_completed:
        return []
    return [event_attempt(e) for e in events_create_for_submission(sub)]


def event_attempt(event: WebhookEvent) -> WebhookEvent:
    """POST the stored payload once and record the outcome (never inside a transaction:
    the receiver may take up to 10 s)."""
    hook = event.webhook
    body = event.payload.encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Tally Webhooks"}
    if hook.signing_secret:
        headers["Tally-Signature"] = sign(hook.signing_secret, body)
    for header in hook.http_headers or []:
        if header.get("name"):
            headers[header["name"]] = str(header.get("value", ""))
    status_code, response_text = None, ""
    try:
        resp = httpx.post(hook.url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS)
        status_code, response_text = resp.status_code, resp.text
    except httpx.HTTPError as exc:
        response_text = f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    event.status_code = status_code
    event.response = response_text[:RESPONSE_KEEP_CHARS]
    event.last_attempt_at = now
    if status_code is not None and 200 <= status_code < 300:
        event.status, event.next_attempt_at = WebhookEvent.SUCCEEDED, None
    elif event.retry < len(RETRY_SCHEDULE_SECONDS):
        delay = RETRY_SCHEDULE_SECONDS[event.retry] * float(settings.SANDBOX_TIME_SCALE)
        event.status, event.next_attempt_at = WebhookEvent.FAILED, now + timedelta(seconds=delay)
    else:
        event.status, event.next_attempt_at = WebhookEvent.DROPPED, None
    event.save(
        update_fields=[
            "status",
            "status_code",
            "response",
            "last_attempt_at",
            "next_attempt_at",
            "retry",
        ]
    )
    return event


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> list[WebhookEvent]:
    """Retry every FAILED event whose next attempt is due; each is claimed with a
    conditional UPDATE so concurrent runners never send one retry twice."""
    now = now or timezone.now()
    due = list(
        WebhookEvent.objects.filter(status=WebhookEvent.FAILED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    done = []
    for pk, when in due:
        claimed = WebhookEvent.objects.filter(
            pk=pk, status=WebhookEvent.FAILED, next_attempt_at=when
        ).update(status=WebhookEvent.QUEUED, next_attempt_at=None, retry=F("retry") + 1)
        if claimed:
            event = WebhookEvent.objects.select_related("webhook").get(pk=pk)
            done.append(event_attempt(event))
    return done


def event_redeliver(event: WebhookEvent) -> WebhookEvent:
    """Manual redelivery: a new log entry with the same payload (same eventId), sent now."""
    copy = WebhookEvent.objects.create(
        public_id=str(uuid.uuid4()),
        webhook=event.webhook,
        event_id=event.event_id,
        event_type=event.event_type,
        submission=event.submission,
        payload=event.payload,
    )
    return event_attempt(copy)


# --- Tally's own pages: what a user does there, behind Kickoff's back ----------------------


def webhook_set_enabled(webhook_id: str, enabled: bool) -> bool:
    """Switch a webhook on or off as in Tally's Integrations tab; False when unknown."""
    return bool(Webhook.objects.filter(id=webhook_id).update(is_enabled=enabled))


def webhook_delete(webhook_id: str) -> bool:
    """Delete a webhook (and its log) as in Tally's Integrations tab; False when unknown."""
    deleted, _ = Webhook.objects.filter(id=webhook_id).delete()
    return bool(deleted)


def submission_delete(form_id: str, submission_id: str) -> bool:
    """Delete one submission as a Tally user can; its id stops being a known cursor."""
    deleted, _ = Submission.objects.filter(form_id=form_id, public_id=submission_id).delete()
    return bool(deleted)
