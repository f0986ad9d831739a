"""The Deliveries list while it stays open: "N new deliveries — show", and retrying the
rows staff ticked."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations import retries
from integrations.selectors import deliveries as queries
from integrations.selectors.triage import newer_count

from ..access import RETRY, requires, staff_required
from .views import (
    NEWER_POLL_SECONDS,
    _filter_form,
    _filter_params,
    _mappings,
    _querystring,
    _toast,
    list_context,
)


@staff_required
def deliveries_newer(request):
    """How many deliveries matching the filters arrived above the first row shown (polled;
    a capped count over the newest rows only)."""
    _, filters = _filter_form(request.GET, _mappings())
    since = request.GET.get("since", "")
    n, capped = newer_count(queries.search_resolved(filters), since)
    context = {
        "newer": n,
        "newer_capped": capped,
        "newest": since,
        "filter_qs": _querystring(_filter_params(request.GET)),
        "newer_poll_seconds": NEWER_POLL_SECONDS,
    }
    return render(request, "dashboard/deliveries/list.html#newer_bar", context)


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isascii() and v.isdigit()][: retries.SELECTION_MAX]


@requires(RETRY)
@require_POST
def deliveries_retry_selected(request):
    """Retry the ticked rows; answers with the list's results for the same filters."""
    ids = _ids(request.POST.getlist("ids"))
    retried, skipped = retries.delivery_retry_selection(ids, user=request.user)
    if not ids:
        message, level = "Tick the rows to retry first.", "warning"
    elif not retried:
        message = "Nothing to retry: those deliveries were already retried or settled."
        level = "warning"
    else:
        which = "delivery is" if len(retried) == 1 else "deliveries are"
        message = f"{len(retried)} {which} being retried"
        message += f"; {len(skipped)} skipped (already retried or settled)." if skipped else "."
        level = "success"
    if request.htmx:
        form, filters = _filter_form(request.GET, _mappings())
        context = list_context(request, queries.search_resolved(filters), form)
        response = render(request, "dashboard/deliveries/list.html#results", context)
        return _toast(response, message, level)
    getattr(messages, level)(request, message)
    params = _querystring(_filter_params(request.GET))
    return redirect(reverse("dashboard:deliveries") + (f"?{params}" if params else ""))
