"""Connections: connect Tally and Tallyfy over OAuth (or a pasted key), test, reconnect,
disconnect. Two short OAuth views: start keeps `state` + PKCE verifier in the session,
callback pops them, so a replayed or forged callback is refused."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations import crypto, oauth
from integrations.connections import (
    PROVIDERS,
    ConnectFailed,
    NeedsReconnect,
    Organization,
    connect_tally_api_key,
    connect_tally_oauth,
    connect_tallyfy,
    connect_tallyfy_token,
    connection_archived_dependents,
    connection_dependents,
    connection_disconnect,
    connection_test,
    tallyfy_organizations,
)
from integrations.contract import checks_for
from integrations.http import ApiError
from integrations.models import AuditEvent, Connection, Provider

from ..access import CONNECT, requires, staff_required
from .forms import OrganizationChoiceForm, TallyApiKeyForm, TallyfyTokenForm

PENDING_KEY = "oauth_pending"
TALLYFY_ORGS_KEY = "tallyfy_pending_grant"
PENDING_TTL_SECONDS = 15 * 60


def _provider(name: str) -> Provider:
    try:
        return Provider(name)
    except ValueError:
        raise Http404("Unknown provider") from None


def _redirect_uri(request, provider: Provider) -> str:
    path = reverse("dashboard:oauth_callback", args=[provider.value])
    return f"{settings.PUBLIC_BASE_URL}{path}"


@staff_required
def connections(request):
    rows = list(Connection.objects.select_related("connected_by"))
    for row in rows:
        row.assumptions = checks_for(row)
    history = AuditEvent.objects.filter(object_type="Connection").select_related("actor")[:10]
    return render(
        request, "dashboard/connections/list.html", {"connections": rows, "history": history}
    )


@requires(CONNECT)
@require_POST
def oauth_start(request, provider: str):
    provider = _provider(provider)
    reconnect_id = request.POST.get("reconnect") or None
    if reconnect_id:
        reconnect_id = _reconnect_connection(reconnect_id, provider).pk
    auth = oauth.authorization_request(PROVIDERS[provider], _redirect_uri(request, provider))
    pending = {
        state: entry
        for state, entry in request.session.get(PENDING_KEY, {}).items()
        if entry["at"] > time.time() - PENDING_TTL_SECONDS
    }
    pending[auth.state] = {
        "provider": provider.value,
        "verifier": auth.code_verifier,
        "reconnect": reconnect_id,
        "at": time.time(),
    }
    request.session[PENDING_KEY] = pending
    return redirect(auth.url)


@requires(CONNECT)
def oauth_callback(request, provider: str):
    provider = _provider(provider)
    state = request.GET.get("state", "")
    pending = request.session.get(PENDING_KEY, {})
    entry = pending.pop(state, None)
    request.session[PENDING_KEY] = pending
    if entry is None or entry["provider"] != provider.value:
        return HttpResponseForbidden(
            "This sign-in response does not match a sign-in started here (state mismatch, "
            "expired, or already used). Nothing was saved. Start again from Connections."
        )
    if entry["at"] < time.time() - PENDING_TTL_SECONDS:
        messages.error(request, "The sign-in took too long and expired. Please try again.")
        return redirect("dashboard:connections")
    error = request.GET.get("error")
    if error:
        if error == "access_denied":
            messages.warning(
                request, f"You declined access in {provider.label}. Nothing was saved."
            )
        else:
            detail = request.GET.get("error_description", "")
            messages.error(request, f"{provider.label} reported an error: {error} {detail}".strip())
        return redirect("dashboard:connections")
    code = request.GET.get("code")
    if not code:
        messages.error(request, f"{provider.label} sent no authorization code. Nothing was saved.")
        return redirect("dashboard:connections")
    reconnect = (
        Connection.objects.filter(pk=entry["reconnect"]).first() if entry["reconnect"] else None
    )
    try:
        tokens = oauth.exchange_code(
            PROVIDERS[provider],
            code=code,
            redirect_uri=_redirect_uri(request, provider),
            code_verifier=entry["verifier"],
        )
        if provider == Provider.TALLY:
            connection, created = connect_tally_oauth(
                tokens, actor=request.user, reconnect=reconnect
            )
        else:
            return _tallyfy_after_token(request, tokens, reconnect)
    except (oauth.OAuthFailed, ConnectFailed) as exc:
        messages.error(request, _nothing_saved(str(exc)))
        return redirect("dashboard:connections")
    _say_connected(request, connection, created, reconnect)
    return redirect("dashboard:connections")


def _nothing_saved(message: str) -> str:
    return message if "Nothing was saved" in message else f"{message} Nothing was saved."


def _say_connected(request, connection, created, reconnect):
    if reconnect is not None:
        messages.success(request, f"Reconnected {connection}.")
    elif created:
        messages.success(request, f"Connected {connection}.")
    else:
        messages.info(request, f"{connection} was already connected; its access was renewed.")


def _tallyfy_after_token(request, tokens: oauth.TokenSet, reconnect):
    orgs = tallyfy_organizations(tokens.access_token)
    if reconnect is not None:
        orgs = [o for o in orgs if o.id == reconnect.external_id] or orgs[:0]
        if not orgs:
            raise ConnectFailed(
                f"The Tallyfy account you signed in with cannot act in “{reconnect.label}”."
            )
    if not orgs:
        raise ConnectFailed("That Tallyfy account belongs to no organization.")
    if len(orgs) == 1:
        connection, created = connect_tallyfy(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
            org=orgs[0],
            auth_kind=Connection.AuthKind.OAUTH,
            actor=request.user,
            reconnect=reconnect,
        )
        _say_connected(request, connection, created, reconnect)
        return redirect("dashboard:connections")
    # Several organizations: keep the grant (encrypted) in the session while the user picks.
    grant = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_in": tokens.expires_in,
        "orgs": [{"id": o.id, "name": o.name} for o in orgs],
        "at": time.time(),
    }
    # The issue time stays readable beside the sealed grant so any page can drop it.
    request.session[TALLYFY_ORGS_KEY] = {
        "sealed": crypto.encrypt(json.dumps(grant)),
        "at": grant["at"],
    }
    return redirect("dashboard:tallyfy_choose_org")


def drop_stale_grant(session) -> bool:
    """Remove a half-finished organization pick's grant (live tokens) from the session
    once its TTL has passed. True if one was removed. Called on every staff page."""
    held = session.get(TALLYFY_ORGS_KEY)
    if held is None:
        return False
    at = held.get("at") if isinstance(held, dict) else None
    if isinstance(at, int | float) and at >= time.time() - PENDING_TTL_SECONDS:
        return False
    del session[TALLYFY_ORGS_KEY]
    return True


@requires(CONNECT)
def tallyfy_choose_org(request):
    drop_stale_grant(request.session)
    held = request.session.get(TALLYFY_ORGS_KEY)
    grant = json.loads(crypto.decrypt(held["sealed"])) if held else None
    if not grant:
        messages.error(request, "No Tallyfy sign-in is waiting for an organization. Start again.")
        return redirect("dashboard:connections")
    form = OrganizationChoiceForm(request.POST or None, organizations=grant["orgs"])
    if request.method == "POST" and form.is_valid():
        org = next(o for o in grant["orgs"] if o["id"] == form.cleaned_data["org_id"])
        del request.session[TALLYFY_ORGS_KEY]
        try:
            connection, created = connect_tallyfy(
                access_token=grant["access_token"],
                refresh_token=grant["refresh_token"],
                expires_in=grant["expires_in"],
                org=Organization(id=org["id"], name=org["name"]),
                auth_kind=Connection.AuthKind.OAUTH,
                actor=request.user,
            )
        except ConnectFailed as exc:
            messages.error(request, str(exc))
            return redirect("dashboard:connections")
        _say_connected(request, connection, created, None)
        return redirect("dashboard:connections")
    return render(request, "dashboard/connections/choose_org.html", {"form": form})


def _reconnect_connection(pk: str, provider: Provider) -> Connection:
    """The connection `?reconnect=` names; 404 for anything but an id of one (a word or a
    number past the column's range would otherwise reach the query and fail there)."""
    if not (pk.isascii() and pk.isdigit() and len(pk) <= 18):
        raise Http404("reconnect must be the id of a connection.")
    return get_object_or_404(Connection, pk=int(pk), provider=provider)


def _reconnect_target(request, provider: Provider) -> Connection | None:
    pk = request.GET.get("reconnect") or request.POST.get("reconnect")
    return _reconnect_connection(pk, provider) if pk else None


@requires(CONNECT)
def tally_api_key(request):
    reconnect = _reconnect_target(request, Provider.TALLY)
    form = TallyApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connection, created = connect_tally_api_key(
                form.cleaned_data["api_key"], actor=request.user, reconnect=reconnect
            )
        except ConnectFailed as exc:
            form.add_error("api_key", str(exc))
        else:
            _say_connected(request, connection, created, reconnect)
            return redirect("dashboard:connections")
    return render(
        request,
        "dashboard/connections/key_form.html",
        {"form": form, "provider": Provider.TALLY, "reconnect": reconnect},
    )


@requires(CONNECT)
def tallyfy_token(request):
    reconnect = _reconnect_target(request, Provider.TALLYFY)
    initial = {"org_id": reconnect.external_id} if reconnect else None
    form = TallyfyTokenForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            connection, created = connect_tallyfy_token(
                form.cleaned_data["token"],
                form.cleaned_data["org_id"],
                actor=request.user,
                reconnect=reconnect,
            )
        except ConnectFailed as exc:
            form.add_error(None, str(exc))
        else:
            _say_connected(request, connection, created, reconnect)
            return redirect("dashboard:connections")
    return render(
        request,
        "dashboard/connections/key_form.html",
        {"form": form, "provider": Provider.TALLYFY, "reconnect": reconnect},
    )


@staff_required
@require_POST
def connection_check(request, pk: int):
    connection = get_object_or_404(Connection, pk=pk)
    try:
        result, ok = connection_test(connection), True
    except NeedsReconnect as exc:
        result, ok = exc.reason, False
    except ApiError as exc:
        result, ok = str(exc), False
    connection.refresh_from_db()
    return render(
        request,
        "dashboard/connections/list.html#test_result",
        {"connection": connection, "result": result, "ok": ok},
    )


@requires(CONNECT)
def disconnect(request, pk: int):
    connection = get_object_or_404(Connection, pk=pk)
    dependents = connection_dependents(connection)
    context = {
        "connection": connection,
        "dependents": dependents,
        "archived": connection_archived_dependents(connection),
    }
    if request.method != "POST":
        return render(request, "dashboard/connections/disconnect.html", context)
    if dependents:
        context["refused"] = True
        return render(request, "dashboard/connections/disconnect.html", context, status=409)
    label = str(connection)
    deleted = connection_disconnect(connection, actor=request.user)
    kept = (
        "" if deleted else " It stays listed, disabled, for the history of its archived mappings."
    )
    messages.success(request, f"Disconnected {label}. Its tokens were deleted.{kept}")
    return redirect("dashboard:connections")
