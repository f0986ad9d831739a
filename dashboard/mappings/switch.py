"""Enable and Disable, each saying what it does before it does it: Disable names its
consequence; Enable after a Disable asks what to do with the submissions that arrived
meanwhile (launch them, or skip them) instead of reconcile launching them unasked."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from integrations.connections import NeedsReconnect
from integrations.drift import mapping_check_drift
from integrations.endpoints import form_enabled_elsewhere, missed_while_off
from integrations.http import ApiError
from integrations.mappings import MappingError, mapping_disable, mapping_enable
from integrations.models import Mapping

from ..access import SWITCH_MAPPINGS, requires
from .archive import not_archived

MISSED_CHOICES = ("launch", "skip")


@requires(SWITCH_MAPPINGS)
@not_archived("enabled")
def mapping_enable_view(request, pk: int):
    mapping = get_object_or_404(Mapping, pk=pk)
    missed = missed_while_off(mapping) if mapping.status == Mapping.Status.DISABLED else None
    choice = request.POST.get("missed", "")
    needs_choice = missed is not None and missed.choice
    if request.method != "POST" or (needs_choice and choice not in MISSED_CHOICES):
        if request.method == "POST":
            messages.info(request, "Choose what to do with what arrived while it was off.")
        return render(
            request,
            "dashboard/mappings/enable.html",
            {"mapping": mapping, "missed": missed},
        )
    try:
        mapping_check_drift(mapping)
        mapping_enable(mapping, actor=request.user, missed=choice if needs_choice else "")
    except MappingError as exc:
        messages.error(request, str(exc))
    except (ApiError, NeedsReconnect) as exc:
        messages.error(request, f"Could not register the webhook in Tally: {exc}")
    else:
        then = {
            "launch": " The submissions that arrived while it was off launch within 15 "
            "minutes (at reconcile's next run).",
            "skip": " The submissions that arrived while it was off are skipped.",
        }.get(choice if needs_choice else "", "")
        messages.success(
            request,
            f"Enabled {mapping}. New submissions of {mapping.form_name} launch processes.{then}",
        )
    return redirect("dashboard:mapping_detail", pk=mapping.pk)


@requires(SWITCH_MAPPINGS)
@not_archived("disabled")
def mapping_disable_view(request, pk: int):
    mapping = get_object_or_404(Mapping, pk=pk)
    if request.method != "POST":
        return render(
            request,
            "dashboard/mappings/disable.html",
            {"mapping": mapping, "shared": form_enabled_elsewhere(mapping)},
        )
    try:
        mapping_disable(mapping, actor=request.user)
    except (ApiError, NeedsReconnect) as exc:
        messages.warning(request, f"Disabled, but removing the Tally webhook failed: {exc}")
    else:
        messages.success(
            request,
            f"Disabled {mapping}. New submissions of {mapping.form_name} launch nothing "
            "until it is enabled again.",
        )
    return redirect("dashboard:mapping_detail", pk=mapping.pk)
