"""Webhook presence: is each enabled form's webhook still registered and enabled in Tally?

Anyone with access to the form can delete or disable a webhook in Tally's Integrations tab,
and Tally tells no one. Every 15 minutes (beat) `webhooks_check_presence` lists each Tally
connection's webhooks once and records what it found on each endpoint (`webhook_state`);
the mapping page then warns and offers Re-register (`endpoints.endpoint_reregister`), while
reconcile recovers the submissions that did not arrive.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.utils import timezone

from . import contract
from .connections import NeedsReconnect, connection_call
from .contract import check_record
from .http import ApiError
from .models import Connection, Endpoint, Mapping, WebhookState
from .tally.shapes import TallyWebhook

log = logging.getLogger(__name__)


def webhook_of(endpoint: Endpoint, hooks: list[TallyWebhook]) -> TallyWebhook | None:
    """The endpoint's webhook in Tally's list, if it is there."""
    wanted = endpoint.tally_webhook_id
    return next((h for h in hooks if wanted and h.id == wanted), None)


def webhook_state_of(endpoint: Endpoint, hooks: list[TallyWebhook]) -> str:
    """What Tally's list says of the endpoint's webhook: present, disabled or missing."""
    hook = webhook_of(endpoint, hooks)
    if hook is None:
        return WebhookState.MISSING
    return WebhookState.PRESENT if hook.is_enabled else WebhookState.DISABLED


def _watched_endpoints() -> dict[int, list[Endpoint]]:
    """The endpoints of forms with an enabled mapping, by Tally connection."""
    enabled = set(
        Mapping.objects.filter(status=Mapping.Status.ENABLED).values_list(
            "tally_connection_id", "form_id"
        )
    )
    out: dict[int, list[Endpoint]] = defaultdict(list)
    for endpoint in Endpoint.objects.filter(
        tally_connection_id__in={c for c, _ in enabled}
    ).order_by("pk"):
        if (endpoint.tally_connection_id, endpoint.form_id) in enabled:
            out[endpoint.tally_connection_id].append(endpoint)
    return out


def _form_names(connection: Connection) -> dict[str, str]:
    return dict(
        Mapping.objects.filter(tally_connection=connection)
        .exclude(form_name="")
        .values_list("form_id", "form_name")
    )


def connection_check_webhooks(connection: Connection, endpoints: list[Endpoint]) -> dict[str, int]:
    """List the connection's webhooks once and record each endpoint's state; returns how
    many endpoints are in each state. Raises NeedsReconnect or ApiError (nothing changed)."""
    hooks = connection_call(connection, lambda c: list(c.iter_webhooks()))
    now = timezone.now()
    counts: dict[str, int] = defaultdict(int)
    problems: list[str] = []
    names = _form_names(connection)
    for endpoint in endpoints:
        state = webhook_state_of(endpoint, hooks)
        counts[state] += 1
        Endpoint.objects.filter(pk=endpoint.pk).update(webhook_state=state, webhook_checked_at=now)
        if state != WebhookState.PRESENT:
            form = names.get(endpoint.form_id) or endpoint.form_id
            how = "missing" if state == WebhookState.MISSING else "disabled"
            problems.append(f"{form} ({endpoint.form_id}): webhook {how} in Tally")
            log.warning(
                "Tally webhook of form %s is %s", endpoint.form_id, state, extra={"form": form}
            )
    check_record(
        connection,
        contract.WEBHOOK_PRESENT,
        held=not problems,
        detail="; ".join(problems),
    )
    return dict(counts)


def webhooks_check_presence() -> dict[str, int]:
    """The periodic look at every Tally connection's webhooks (once per connection);
    returns how many watched endpoints are in each state."""
    totals: dict[str, int] = defaultdict(int)
    for connection_id, endpoints in _watched_endpoints().items():
        connection = Connection.objects.get(pk=connection_id)
        try:
            counts = connection_check_webhooks(connection, endpoints)
        except (NeedsReconnect, ApiError) as exc:
            # States stay as last seen: a failed look is not a missing webhook.
            log.warning("could not list the webhooks of %s: %s", connection, exc)
            continue
        for state, n in counts.items():
            totals[state] += n
    return dict(totals)
