"""A form's endpoint and its webhook in Tally: registered on Enable or to listen for a test
submission before it, put back when Tally's Integrations tab deleted or disabled it, and
removed when no mapping of the form needs it any more."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .audit import audit_record
from .connections import NeedsReconnect, connection_call
from .errors import MappingError
from .http import ApiError, NotFound
from .models import AuditEvent, Endpoint, Mapping, Submission, WebhookState
from .selectors.payloads import LISTEN_SECONDS
from .webhooks import webhook_of


def webhook_url(endpoint: Endpoint) -> str:
    return f"{settings.PUBLIC_BASE_URL}/hooks/tally/{endpoint.key}/"


def endpoint_ensure(mapping: Mapping) -> Endpoint:
    """The form's endpoint with its Tally webhook registered (one per connection + form).

    The webhook gets a fresh random signing secret; Tally signs every delivery with it.
    Docs: https://developers.tally.so/api-reference/endpoint/webhooks/post
    """
    endpoint, _ = Endpoint.objects.get_or_create(
        tally_connection=mapping.tally_connection,
        form_id=mapping.form_id,
        defaults={
            "key": secrets.token_urlsafe(32),
            "signing_secret": secrets.token_urlsafe(32),
        },
    )
    if not endpoint.tally_webhook_id:
        webhook = connection_call(
            mapping.tally_connection,
            lambda c: c.create_webhook(
                mapping.form_id,
                webhook_url(endpoint),
                endpoint.signing_secret,
                external_subscriber="kickoff",
            ),
        )
        Endpoint.objects.filter(pk=endpoint.pk).update(
            tally_webhook_id=webhook.id,
            webhook_state=WebhookState.PRESENT,
            webhook_checked_at=timezone.now(),
        )
        endpoint.tally_webhook_id = webhook.id
        endpoint.webhook_state = WebhookState.PRESENT
    return endpoint


def endpoint_reregister(mapping: Mapping, *, actor) -> str:
    """Put the form's webhook back as Tally's Integrations tab may have left it: a deleted
    one is created again (same URL and signing secret), a disabled one is enabled.

    Looks at Tally first, so a second click finds it present and changes nothing. Returns
    what was done: "created", "enabled" or "present". Raises MappingError, or the
    connection's NeedsReconnect / ApiError.
    """
    endpoint = Endpoint.objects.filter(
        tally_connection=mapping.tally_connection, form_id=mapping.form_id
    ).first()
    if endpoint is None or mapping.status != Mapping.Status.ENABLED:
        raise MappingError("Only an enabled mapping has a webhook to re-register.")
    hooks = connection_call(mapping.tally_connection, lambda c: list(c.iter_webhooks()))
    hook = webhook_of(endpoint, hooks)
    if hook is None:
        # Forget the deleted id, then let endpoint_ensure register it as on Enable. The
        # conditional update lets only one of two simultaneous clicks create one.
        released = Endpoint.objects.filter(
            pk=endpoint.pk, tally_webhook_id=endpoint.tally_webhook_id
        ).update(tally_webhook_id="")
        done = "created" if released else "present"
        if released:
            endpoint = endpoint_ensure(mapping)
    elif not hook.is_enabled:
        # Tally wants formId, url, eventTypes and isEnabled on every PATCH
        # (docs/vendor-notes.md).
        connection_call(
            mapping.tally_connection,
            lambda c: c.update_webhook(
                hook.id,
                form_id=mapping.form_id,
                url=webhook_url(endpoint),
                event_types=hook.event_types or ["FORM_RESPONSE"],
                is_enabled=True,
            ),
        )
        done = "enabled"
    else:
        done = "present"
    Endpoint.objects.filter(pk=endpoint.pk).update(
        webhook_state=WebhookState.PRESENT, webhook_checked_at=timezone.now()
    )
    if done != "present":
        audit_record(
            actor=actor,
            action="mapping.webhook_reregistered",
            obj=mapping,
            summary=f"Re-registered the Tally webhook of {mapping} ({done})",
            outcome=done,
            webhook_id=Endpoint.objects.get(pk=endpoint.pk).tally_webhook_id,
        )
    return done


def mapping_listen_start(mapping: Mapping, *, actor) -> Endpoint:
    """Register the form's signed webhook now, before enabling, and listen until
    LISTEN_SECONDS from now: what arrives is stored (the builder learns its fields) and
    launches nothing, since the ingest creates deliveries only for enabled mappings."""
    endpoint = endpoint_ensure(mapping)
    until = timezone.now() + timedelta(seconds=LISTEN_SECONDS)
    Endpoint.objects.filter(pk=endpoint.pk).update(listening_until=until)
    endpoint.listening_until = until
    audit_record(
        actor=actor,
        action="mapping.listening",
        obj=mapping,
        summary=f"Listening for a test submission of {mapping.form_name} until {until:%H:%M}",
    )
    return endpoint


def mapping_listen_stop(mapping: Mapping, *, actor) -> None:
    """Stop listening; with no enabled mapping of the form, also remove Tally's webhook.

    Stopping is the operator saying no more submissions are wanted, so the webhook goes.
    When the time runs out instead, it stays until Enable (which reuses it) or a Stop or
    Disable: it is harmless (no delivery without an enabled mapping) and every submission
    it brings still teaches the builder, and removing it would need a job calling Tally
    for no one.
    """
    endpoint = mapping_endpoint(mapping)
    if endpoint is None:
        return
    Endpoint.objects.filter(pk=endpoint.pk).update(listening_until=None)
    if not form_enabled_elsewhere(mapping):
        webhook_remove(mapping, endpoint)
    audit_record(
        actor=actor,
        action="mapping.listening_stopped",
        obj=mapping,
        summary=f"Stopped listening for a test submission of {mapping.form_name}",
    )


def mapping_endpoint(mapping: Mapping) -> Endpoint | None:
    """The form's endpoint, if one was ever made."""
    return Endpoint.objects.filter(
        tally_connection=mapping.tally_connection, form_id=mapping.form_id
    ).first()


def form_enabled_elsewhere(mapping: Mapping) -> bool:
    """Whether another mapping of the same form is switched on."""
    return (
        Mapping.objects.filter(
            tally_connection=mapping.tally_connection,
            form_id=mapping.form_id,
            status=Mapping.Status.ENABLED,
        )
        .exclude(pk=mapping.pk)
        .exists()
    )


def webhook_kept_by(mapping: Mapping) -> Mapping | None:
    """Another mapping of the form that still needs its webhook, if any: one switched on,
    or, while the endpoint listens for a test submission, any not archived (the listen may
    be its builder's)."""
    others = (
        Mapping.objects.filter(tally_connection=mapping.tally_connection, form_id=mapping.form_id)
        .exclude(pk=mapping.pk)
        .exclude(status=Mapping.Status.ARCHIVED)
        .order_by("name", "pk")
    )
    enabled = others.filter(status=Mapping.Status.ENABLED).first()
    if enabled is not None:
        return enabled
    endpoint = mapping_endpoint(mapping)
    if endpoint and endpoint.listening_until and endpoint.listening_until > timezone.now():
        return others.first()
    return None


def webhook_remove(mapping: Mapping, endpoint: Endpoint) -> None:
    """Delete the endpoint's webhook in Tally (gone already is fine) and forget its id."""
    if endpoint.tally_webhook_id:
        with contextlib.suppress(NotFound):  # already gone at Tally
            connection_call(
                mapping.tally_connection, lambda c: c.delete_webhook(endpoint.tally_webhook_id)
            )
        Endpoint.objects.filter(pk=endpoint.pk).update(tally_webhook_id="")


# --- switched back on: what arrived while it was off ----------------------------------------


@dataclass(frozen=True)
class MissedWhileOff:
    """The submissions of a disabled mapping's form that arrived since it was disabled:
    reconcile launches them once it is on again, unless the operator skips them."""

    since: datetime  # when it was disabled
    count: int | None  # completed submissions Tally lists since then; None: not counted
    stored: int = 0  # of those, how many Kickoff already holds (they launch nothing)
    error: str = ""  # why they could not be counted
    kept_by: Mapping | None = None  # another enabled mapping of the form received them

    @property
    def choice(self) -> bool:
        """Whether re-enabling has anything to decide (launch them, or skip them)."""
        return self.kept_by is None and self.count != 0


def missed_while_off(mapping: Mapping) -> MissedWhileOff | None:
    """What re-enabling `mapping` would pick up; None when it was never switched off (a
    draft: reconcile starts at its webhook, as on any first Enable). Reads Tally once."""
    if mapping.status != Mapping.Status.DISABLED:
        return None
    since = (
        AuditEvent.objects.filter(
            action="mapping.disabled", object_type="Mapping", object_id=str(mapping.pk)
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if since is None:
        return None
    kept_by = (
        Mapping.objects.filter(
            tally_connection=mapping.tally_connection,
            form_id=mapping.form_id,
            status=Mapping.Status.ENABLED,
        )
        .exclude(pk=mapping.pk)
        .first()
    )
    stored = Submission.objects.filter(
        tally_connection=mapping.tally_connection, form_id=mapping.form_id, received_at__gte=since
    ).count()
    try:
        page = connection_call(
            mapping.tally_connection,
            lambda c: c.list_submissions(
                mapping.form_id, limit=1, filter="completed", start_date=since
            ),
        )
    except NeedsReconnect as exc:
        return MissedWhileOff(since, None, stored, f"{exc.connection} needs reconnecting", kept_by)
    except ApiError as exc:
        return MissedWhileOff(since, None, stored, f"Tally answered: {exc}", kept_by)
    if page.total is None:
        return MissedWhileOff(since, None, stored, "Tally's answer gave no count", kept_by)
    return MissedWhileOff(since, page.total, min(stored, page.total), "", kept_by)


def skipped_before(mapping: Mapping) -> datetime | None:
    """When the operator last re-enabled `mapping` skipping what arrived while it was off:
    reconcile reads nothing submitted before then (its overlap would otherwise re-read
    the last hour of them)."""
    return (
        AuditEvent.objects.filter(
            action="mapping.enabled",
            object_type="Mapping",
            object_id=str(mapping.pk),
            data__missed="skip",
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
