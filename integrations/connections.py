"""Connection services: connect, verify, refresh, disconnect; and calling a vendor with a
connection so that tokens take care of themselves.

Views and tasks call these; they never touch tokens directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import oauth
from .alerts import header_safe
from .audit import audit_record
from .crypto import mask
from .errors import MappingError
from .http import ApiError, Unauthorized
from .models import Connection, Mapping, Provider
from .tally.client import TallyClient
from .tally.oauth import TALLY
from .tallyfy.client import TallyfyClient
from .tallyfy.oauth import TALLYFY

log = logging.getLogger(__name__)
T = TypeVar("T")

# Refresh this long before `expires_in` runs out, so no request starts with a token that
# dies mid-flight. The periodic sweep runs every few minutes with a wider margin.
REFRESH_MARGIN_SECONDS = 120
SWEEP_MARGIN_SECONDS = 15 * 60

PROVIDERS = {Provider.TALLY: TALLY, Provider.TALLYFY: TALLYFY}


class NeedsReconnect(Exception):
    """The connection's credentials are dead: a person must reconnect it."""

    def __init__(self, connection: Connection, reason: str):
        super().__init__(f"{connection} needs reconnecting: {reason}")
        self.connection = connection
        self.reason = reason


class ConnectFailed(Exception):
    """Connecting did not work; the message is meant for the person connecting."""


# --- clients ------------------------------------------------------------------------------


def tally_client(connection: Connection) -> TallyClient:
    return TallyClient(connection.access_token, account_key=f"connection-{connection.pk}")


def tallyfy_client(connection: Connection) -> TallyfyClient:
    return TallyfyClient(connection.access_token, org_id=connection.external_id)


def _client_for(connection: Connection):
    return (
        tally_client(connection)
        if connection.provider == Provider.TALLY
        else tallyfy_client(connection)
    )


def connection_call(connection: Connection, fn: Callable[[object], T]) -> T:
    """Run `fn(client)` for a connection: refresh first when the token is about to expire,
    and once more after a 401, before giving up with NeedsReconnect."""
    if connection.status != Connection.Status.ACTIVE:
        raise NeedsReconnect(connection, connection.last_error or "it is not active")
    if connection.is_oauth and connection.expires_within(REFRESH_MARGIN_SECONDS):
        connection = connection_refresh(connection)
    try:
        result = fn(_client_for(connection))
    except Unauthorized:
        if not (connection.is_oauth and connection.refresh_token):
            _mark_needs_reconnect(connection, _rejected_message(connection))
            raise NeedsReconnect(connection, _rejected_message(connection)) from None
        connection = connection_refresh(connection, stale_access_token=connection.access_token)
        try:
            result = fn(_client_for(connection))
        except Unauthorized:
            reason = f"{connection.get_provider_display()} rejected a freshly refreshed token."
            _mark_needs_reconnect(connection, reason)
            raise NeedsReconnect(connection, reason) from None
    Connection.objects.filter(pk=connection.pk).update(last_used_at=timezone.now())
    return result


def _rejected_message(connection: Connection) -> str:
    what = "API key" if connection.auth_kind == Connection.AuthKind.API_KEY else "token"
    return f"{connection.get_provider_display()} rejected the {what} (HTTP 401)."


# --- refresh ------------------------------------------------------------------------------


def connection_refresh(
    connection: Connection, *, stale_access_token: str | None = None
) -> Connection:
    """Refresh an OAuth connection's tokens and return the fresh row.

    Only one process refreshes at a time: it claims a short lease on the row with a
    conditional UPDATE; the others wait for the lease to end and then use the token it
    stored. (Tallyfy rotates refresh tokens: spending one twice would kill the
    connection.) No database transaction stays open during the HTTP call, so a slow
    token endpoint never blocks the database.
    """
    row = _claim_refresh(connection.pk, stale_access_token)
    if row.refresh_lease_until is None:
        return row  # someone else refreshed while we waited
    failure: oauth.OAuthFailed | None = None
    try:
        if not row.refresh_token:
            raise oauth.OAuthFailed("No refresh token was issued.", permanent=True)
        tokens = oauth.refresh(PROVIDERS[row.provider], row.refresh_token)
    except oauth.OAuthFailed as exc:
        failure = exc
    if failure is None:
        row.set_tokens(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
        )
        row.last_refreshed_at = timezone.now()
        row.last_error = ""
        row.refresh_lease_until = None
        row.save(
            update_fields=[
                "access_token",
                "refresh_token",
                "token_hint",
                "expires_at",
                "last_refreshed_at",
                "last_error",
                "refresh_lease_until",
                "updated_at",
            ]
        )
        log.info("refreshed tokens of connection %s", row.pk)
        return row
    Connection.objects.filter(pk=row.pk).update(refresh_lease_until=None)
    if failure.permanent:
        reason = f"Token refresh failed: {failure}"
        _mark_needs_reconnect(row, reason)
        raise NeedsReconnect(row, reason)
    Connection.objects.filter(pk=row.pk).update(last_error=str(failure))
    raise ApiUnavailableDuringRefresh(str(failure))


REFRESH_LEASE_SECONDS = 30


def _claim_refresh(pk: int, stale_access_token: str | None) -> Connection:
    """Return the row with `refresh_lease_until` set if this process must refresh, or the
    row with it unset when a refresh is no longer needed (another process did it)."""
    deadline = time.monotonic() + REFRESH_LEASE_SECONDS
    while True:
        row = Connection.objects.get(pk=pk)
        if stale_access_token is not None and row.access_token != stale_access_token:
            row.refresh_lease_until = None
            return row
        if stale_access_token is None and not row.expires_within(REFRESH_MARGIN_SECONDS):
            row.refresh_lease_until = None
            return row
        if row.status != Connection.Status.ACTIVE:
            raise NeedsReconnect(row, row.last_error or "it is not active")
        now = timezone.now()
        lease = now + timedelta(seconds=REFRESH_LEASE_SECONDS)
        free = Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lt=now)
        # Claim only the version we just read: if the token changed in between, loop and
        # look again rather than refreshing a token that is already fresh.
        if Connection.objects.filter(free, pk=pk, updated_at=row.updated_at).update(
            refresh_lease_until=lease
        ):
            row.refresh_lease_until = lease
            return row
        if time.monotonic() > deadline:
            raise ApiUnavailableDuringRefresh(
                "Another process has been refreshing this connection for too long."
            )
        time.sleep(0.05)


class ApiUnavailableDuringRefresh(ApiError):
    """The token endpoint was unreachable; the connection is fine, try again later."""

    def __init__(self, message: str):
        super().__init__(message, retryable=True)


def refresh_expiring_connections() -> int:
    """Refresh every active OAuth connection that expires soon. Returns how many refreshed."""
    soon = timezone.now() + timedelta(seconds=SWEEP_MARGIN_SECONDS)
    due = Connection.objects.filter(
        status=Connection.Status.ACTIVE,
        auth_kind=Connection.AuthKind.OAUTH,
        expires_at__lte=soon,
    ).exclude(refresh_token="")
    refreshed = 0
    for connection in due:
        try:
            before = connection.access_token
            # Inside the sweep's wider margin: treat the current token as stale; the lease
            # and compare still prevent a double refresh.
            row = connection_refresh(connection, stale_access_token=connection.access_token)
            refreshed += row.access_token != before
        except (NeedsReconnect, ApiError) as exc:
            log.warning("could not refresh connection %s: %s", connection.pk, exc)
    return refreshed


def _mark_needs_reconnect(connection: Connection, reason: str) -> None:
    updated = Connection.objects.filter(pk=connection.pk, status=Connection.Status.ACTIVE).update(
        status=Connection.Status.NEEDS_RECONNECT, last_error=reason[:1000]
    )
    connection.status = Connection.Status.NEEDS_RECONNECT
    connection.last_error = reason
    if updated:
        log.warning("connection %s needs reconnecting: %s", connection.pk, reason)
        audit_record(
            actor=None,
            action="connection.needs_reconnect",
            obj=connection,
            summary=f"{connection} needs reconnecting: {reason}",
        )
        _notify_staff(
            subject=f"[Kickoff] {connection} needs reconnecting",
            body=(
                f"{reason}\n\nDeliveries that use it are held until it is reconnected.\n"
                f"Reconnect it here: {settings.PUBLIC_BASE_URL}/connections/\n"
            ),
        )


def _notify_staff(*, subject: str, body: str) -> None:
    recipients = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        send_mail(header_safe(subject), body, None, recipients, fail_silently=True)


# --- connecting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Organization:
    id: str
    name: str


def _upsert(
    *,
    provider: str,
    external_id: str,
    label: str,
    auth_kind: str,
    access_token: str,
    refresh_token: str | None,
    expires_in: float | None,
    scopes: str,
    actor,
    reconnect: Connection | None,
    account_email: str = "",
    external_secondary_id: str = "",
) -> tuple[Connection, bool]:
    if reconnect is not None and (
        reconnect.provider != provider or reconnect.external_id != external_id
    ):
        raise ConnectFailed(
            f"You signed in to a different {Provider(provider).label} account than "
            f"“{reconnect.label}”. Sign in as that account to reconnect it, "
            "or connect the other account as a new connection."
        )
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(provider=provider, external_id=external_id)
            .first()
        )
        created = connection is None
        if created:
            connection = Connection(provider=provider, external_id=external_id, connected_by=actor)
        was_broken = not created and connection.status != Connection.Status.ACTIVE
        connection.label = label[:200]
        connection.account_email = account_email[:254]
        connection.external_secondary_id = external_secondary_id[:64]
        connection.auth_kind = auth_kind
        if auth_kind == Connection.AuthKind.API_KEY:
            connection.refresh_token = ""
        connection.set_tokens(
            access_token=access_token, refresh_token=refresh_token, expires_in=expires_in
        )
        connection.scopes = scopes[:200]
        connection.status = Connection.Status.ACTIVE
        connection.last_error = ""
        connection.save()
    action = (
        "connection.created"
        if created
        else ("connection.reconnected" if was_broken or reconnect else "connection.updated")
    )
    verb = {"connection.created": "connected", "connection.reconnected": "reconnected"}.get(
        action, "updated the tokens of"
    )
    audit_record(
        actor=actor,
        action=action,
        obj=connection,
        summary=f"{getattr(actor, 'username', 'someone')} {verb} {connection}",
        auth_kind=auth_kind,
    )
    return connection, created


def connect_tally_oauth(
    tokens: oauth.TokenSet, *, actor, reconnect: Connection | None = None
) -> tuple[Connection, bool]:
    """Save a Tally OAuth grant, identified by the user it belongs to."""
    me = _identify(
        lambda: TallyClient(tokens.access_token, account_key="connect").get_me(), "Tally"
    )
    return _upsert(
        provider=Provider.TALLY,
        external_id=me.id,
        label=me.email or me.full_name or me.id,
        account_email=me.email or "",
        external_secondary_id=me.organization_id or "",
        auth_kind=Connection.AuthKind.OAUTH,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        scopes=tokens.scope or TALLY.scope(),
        actor=actor,
        reconnect=reconnect,
    )


def connect_tally_api_key(api_key: str, *, actor, reconnect: Connection | None = None):
    """Check a pasted Tally API key with a live call, then save it."""
    api_key = api_key.strip()
    if not api_key.startswith("tly-"):
        raise ConnectFailed(
            "That is not a Tally API key: they start with “tly-”. "
            "Create one in Tally under Settings → API keys."
        )
    me = _identify(lambda: TallyClient(api_key, account_key="connect").get_me(), "Tally")
    return _upsert(
        provider=Provider.TALLY,
        external_id=me.id,
        label=me.email or me.full_name or me.id,
        account_email=me.email or "",
        external_secondary_id=me.organization_id or "",
        auth_kind=Connection.AuthKind.API_KEY,
        access_token=api_key,
        refresh_token=None,
        expires_in=None,
        scopes="",
        actor=actor,
        reconnect=reconnect,
    )


def tallyfy_organizations(access_token: str) -> list[Organization]:
    """The organizations a Tallyfy token can act in."""
    orgs = _identify(
        lambda: TallyfyClient(access_token, org_id=None).list_organizations(), "Tallyfy"
    )
    return [Organization(id=str(o.id), name=o.name or str(o.id)) for o in orgs]


def connect_tallyfy(
    *,
    access_token: str,
    refresh_token: str | None,
    expires_in: float | None,
    org: Organization,
    auth_kind: str,
    actor,
    reconnect: Connection | None = None,
) -> tuple[Connection, bool]:
    """Save a Tallyfy token for one organization (a token is tied to one organization)."""
    me = _identify(lambda: TallyfyClient(access_token, org_id=org.id).get_me(), "Tallyfy")
    return _upsert(
        provider=Provider.TALLYFY,
        external_id=org.id,
        label=org.name,
        account_email=getattr(me, "email", "") or "",
        external_secondary_id=str(getattr(me, "id", "") or ""),
        auth_kind=auth_kind,
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=expires_in,
        scopes="",
        actor=actor,
        reconnect=reconnect,
    )


def connect_tallyfy_token(
    token: str, org_id: str, *, actor, reconnect: Connection | None = None
) -> tuple[Connection, bool]:
    """Check a pasted Tallyfy personal access token against the organization, then save it."""
    token, org_id = token.strip(), org_id.strip()
    orgs = tallyfy_organizations(token)
    org = next((o for o in orgs if o.id == org_id), None)
    if org is None:
        names = ", ".join(f"{o.name} ({o.id})" for o in orgs) or "none"
        raise ConnectFailed(
            f"This token cannot act in organization “{org_id}”. "
            f"Organizations it can act in: {names}."
        )
    return connect_tallyfy(
        access_token=token,
        refresh_token=None,
        expires_in=None,
        org=org,
        auth_kind=Connection.AuthKind.API_KEY,
        actor=actor,
        reconnect=reconnect,
    )


def _identify(call: Callable[[], T], vendor: str) -> T:
    try:
        return call()
    except Unauthorized:
        raise ConnectFailed(
            f"{vendor} rejected the credentials (HTTP 401). Nothing was saved."
        ) from None
    except ApiError as exc:
        raise ConnectFailed(
            f"Could not check the credentials with {vendor}: {exc}. Nothing was saved."
        ) from None


# --- using and removing -------------------------------------------------------------------


def connection_test(connection: Connection) -> str:
    """A live call proving the connection works; returns what it found."""
    if connection.provider == Provider.TALLY:
        me = connection_call(connection, lambda c: c.get_me())
        return f"Signed in to Tally as {me.email or me.full_name or me.id}."
    page = connection_call(connection, lambda c: c.list_templates(per_page=1))
    total = getattr(page, "total", None)
    count = f"{total} templates" if total is not None else "templates readable"
    return f"Tallyfy organization {connection.label}: {count}."


def _mappings_of(connection: Connection):
    return Mapping.objects.filter(Q(tally_connection=connection) | Q(tallyfy_connection=connection))


def connection_dependents(connection: Connection) -> list[Mapping]:
    """Mappings that read from or launch into this connection and are not archived: they
    block disconnecting it."""
    return list(_mappings_of(connection).exclude(status=Mapping.Status.ARCHIVED))


def connection_archived_dependents(connection: Connection) -> int:
    return _mappings_of(connection).filter(status=Mapping.Status.ARCHIVED).count()


def connection_disconnect(connection: Connection, *, actor) -> bool:
    """Forget the connection's credentials; returns whether the row itself was deleted.

    Archived mappings still point at it (Mapping's foreign keys PROTECT, and their
    deliveries keep their history through them), so while any does the row stays, marked
    disabled with its tokens wiped: nothing can call the vendor with it, the history keeps
    its account's name, and connecting the same account again revives the row.
    """
    if connection_dependents(connection):
        raise MappingError("Archive the mappings that use this connection first.")
    who = getattr(actor, "username", "someone")
    if not connection_archived_dependents(connection):
        summary = f"{who} disconnected {connection}"
        audit_record(actor=actor, action="connection.deleted", obj=connection, summary=summary)
        connection.delete()
        return True
    connection.access_token = connection.refresh_token = ""
    connection.token_hint, connection.expires_at = "", None
    connection.status = Connection.Status.DISABLED
    connection.last_error = "Disconnected; kept for the history of its archived mappings."
    connection.save()
    audit_record(
        actor=actor,
        action="connection.disabled",
        obj=connection,
        summary=f"{who} disconnected {connection} (kept for its archived mappings' history)",
    )
    return False


def connection_secret_hint(connection: Connection) -> str:
    return connection.token_hint or mask(connection.access_token)
