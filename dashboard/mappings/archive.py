"""Archiving a mapping (out of the way for good, its history kept) and restoring it; and
the guard that keeps archived mappings from being changed."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from integrations.archive import ArchiveOutcome, archive_plan, mapping_archive, mapping_restore
from integrations.errors import MappingError
from integrations.mappings import refuse_archived
from integrations.models import Mapping

from ..access import SWITCH_MAPPINGS, requires


def not_archived(what: str):
    """Refuse a change to an archived mapping, saying so on its page."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, pk: int, *args, **kwargs):
            mapping = get_object_or_404(Mapping, pk=pk)
            try:
                refuse_archived(mapping, what)
            except MappingError as exc:
                messages.error(request, str(exc))
                url = reverse("dashboard:mapping_detail", args=[pk])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
            return view(request, pk, *args, **kwargs)

        return wrapper

    return decorate


@requires(SWITCH_MAPPINGS)
def mapping_archive_view(request, pk: int):
    """GET: what archiving will do. POST: archive; on an archived mapping whose webhook
    Tally would not delete, try deleting it again."""
    mapping = get_object_or_404(Mapping.objects.select_related("tally_connection"), pk=pk)
    if request.method != "POST":
        if mapping.status == Mapping.Status.ARCHIVED:
            return redirect("dashboard:mapping_detail", pk=pk)
        return render(
            request,
            "dashboard/mappings/archive.html",
            {"mapping": mapping, "plan": archive_plan(mapping)},
        )
    was_archived = mapping.status == Mapping.Status.ARCHIVED
    outcome = mapping_archive(mapping, actor=request.user)
    level, message = _said(mapping, outcome, was_archived=was_archived)
    getattr(messages, level)(request, message)
    return redirect("dashboard:mapping_detail", pk=pk)


def _said(mapping: Mapping, outcome: ArchiveOutcome, *, was_archived: bool) -> tuple[str, str]:
    if outcome.webhook == "failed":
        done = "Still archived" if was_archived else f"Archived {mapping}"
        return "warning", (
            f"{done}, but Tally would not delete the form's webhook: {outcome.error}. "
            "It launches nothing; use “Remove the webhook” on this page to try again."
        )
    if was_archived:
        if outcome.webhook == "deleted":
            return "success", "Removed the form's webhook from Tally."
        return "info", f"{mapping} is already archived; there is no webhook to remove."
    kept = {
        "deleted": " Its Tally webhook was deleted.",
        "kept": f" The Tally webhook stays: “{outcome.kept_by}” still uses it.",
        "none": "",
    }[outcome.webhook]
    n = outcome.deliveries
    history = f" Its {n} deliver{'y stays' if n == 1 else 'ies stay'} in history." if n else ""
    return "success", f"Archived {mapping}.{kept}{history}"


@requires(SWITCH_MAPPINGS)
@require_POST
def mapping_restore_view(request, pk: int):
    mapping = get_object_or_404(Mapping, pk=pk)
    try:
        mapping_restore(mapping, actor=request.user)
    except MappingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Restored {mapping}. It is switched off: enable it to launch again."
        )
    return redirect("dashboard:mapping_detail", pk=pk)
