"""Deliveries: the list (filters, search, keyset pages, counts), one delivery's page, retry
and cancel (HTMX, in place), bulk retry with progress, CSV export, and Tally's delivery log
of a mapping's webhook."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from integrations import reconcile, retries
from integrations.csvsafe import safe_cell
from integrations.explain import cause_words
from integrations.models import BulkRetry, Delivery, Mapping
from integrations.selectors import deliveries as queries

from ..access import EXPORT, RETRY, may, requires, staff_required
from . import detail
from .filters import FILTER_KEYS, DeliveryFilterSet
from .forms import RecoverForm

# --- filters -----------------------------------------------------------------------------


def _mappings() -> list[Mapping]:
    return list(Mapping.objects.only("id", "name", "form_id", "form_name").order_by("name", "id"))


def _filter_form(data, mappings: list[Mapping]) -> tuple[forms.Form, queries.DeliveryFilters]:
    filterset = DeliveryFilterSet(data, mappings=mappings)
    return filterset.form, filterset.delivery_filters


def _filter_params(data) -> dict[str, str]:
    return {k: data.get(k) for k in FILTER_KEYS if data.get(k)}


def _describe(filters: queries.DeliveryFilters, mappings: list[Mapping]) -> str:
    """The filter in words, for the bulk-retry confirmation and its audit entry."""
    names = {m.pk: m.name for m in mappings}
    forms_ = {m.form_id: m.form_name or m.form_id for m in mappings}
    parts = []
    if filters.status:
        parts.append(f"status {filters.status}")
    if filters.mapping_id:
        parts.append(f"mapping “{names.get(filters.mapping_id, filters.mapping_id)}”")
    if filters.form_id:
        parts.append(f"form “{forms_.get(filters.form_id, filters.form_id)}”")
    if filters.preset:
        parts.append(f"last {filters.preset}")
    if filters.date_from:
        parts.append(f"from {filters.date_from:%Y-%m-%d}")
    if filters.date_to:
        parts.append(f"to {filters.date_to:%Y-%m-%d}")
    if filters.http:
        parts.append(f"HTTP {filters.http}")
    if filters.q:
        parts.append(f"matching “{filters.q}”")
    if filters.cause:
        parts.append(f"failing with “{cause_words(filters.cause)}”")
    return " · ".join(parts) or "all deliveries"


def _toast(response: HttpResponse, message: str, level: str = "success") -> HttpResponse:
    """The response, plus a toast the page shows (static/js listens for `toast`)."""
    return trigger_client_event(response, "toast", {"message": message, "level": level})


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- the list ----------------------------------------------------------------------------


#: Filters that live under "More filters" (the bar shows search, status, mapping, when).
MORE_FILTERS = ("kind", "form", "date_from", "date_to", "http")


def list_context(request, filters: queries.DeliveryFilters, form, cursor: str = "") -> dict:
    """What the list's results show: a page, its counts, what polls keep it true."""
    page = queries.deliveries_page(filters, cursor=cursor, size=queries.PAGE_SIZE)
    first = page.rows[0] if page.rows else None
    # The poll for newer rows starts from the first row's keyset (or now, on an empty page).
    newest = (
        queries.encode_cursor(first.created_at, first.pk)
        if first
        else (queries.encode_cursor(timezone.now(), 0))
    )
    counts = queries.status_counts(filters)
    params = _filter_params(request.GET)
    return {
        "form": form,
        "filters": filters,
        "page": page,
        "cursor": cursor,
        "filter_qs": _querystring(params),
        "more_filters": sum(1 for k in MORE_FILTERS if params.get(k)),
        "in_flight": Delivery.IN_FLIGHT,
        "retryable": Delivery.RETRYABLE,
        "selectable": may(request.user, RETRY),
        "any_retryable": any(d.status in Delivery.RETRYABLE for d in page.rows),
        "counts": counts,
        "retryable_shown": sum(c.count for c in counts if c.status in Delivery.BULK_RETRYABLE),
        "newest": newest,
        "newer_poll_seconds": NEWER_POLL_SECONDS,
        "error_window": f"{queries.ERROR_SEARCH_WINDOW:,}",
    }


#: How often an open list asks whether newer deliveries arrived.
NEWER_POLL_SECONDS = 5


@staff_required
def deliveries(request):
    """Every delivery, newest first: filters in the URL, search, counts, keyset pages."""
    mappings = _mappings()
    form, filters = _filter_form(request.GET, mappings)
    filters = queries.search_resolved(filters)  # the search runs once for rows and counts
    if request.htmx and request.GET.get("part") == "counts":
        # The chips re-count while rows move (static/js/triage.js asks).
        context = {"filters": filters, "counts": queries.status_counts(filters)}
        return render(request, "dashboard/deliveries/list.html#counts", context)
    cursor = request.GET.get("after", "")
    if request.htmx and cursor:
        # "Older deliveries": the next rows replace the button row.
        page = queries.deliveries_page(filters, cursor=cursor, size=queries.PAGE_SIZE)
        context = {
            "page": page,
            "cursor": cursor,
            "in_flight": Delivery.IN_FLIGHT,
            "retryable": Delivery.RETRYABLE,
            "selectable": may(request.user, RETRY),
        }
        return render(request, "dashboard/deliveries/list.html#more_rows", context)
    context = list_context(request, filters, form, cursor)
    if request.htmx and request.htmx.target == "results":
        return render(request, "dashboard/deliveries/list.html#results", context)
    context["bulk_jobs"] = queries.running_bulk_retries()
    return render(request, "dashboard/deliveries/list.html", context)


def _querystring(params: dict[str, str]) -> str:
    return urlencode(params)


def _row(pk: int) -> Delivery:
    row = queries.with_row_data(Delivery.objects.filter(pk=pk)).first()
    if row is None:
        raise Http404("No such delivery.")
    return row


def _row_response(request, pk: int) -> HttpResponse:
    row = _row(pk)
    selectable = bool(request.GET.get("sel") or request.POST.get("sel"))
    response = render(
        request,
        "dashboard/deliveries/list.html#row",
        {
            "d": row,
            "in_flight": Delivery.IN_FLIGHT,
            "retryable": Delivery.RETRYABLE,
            "selectable": selectable and may(request.user, RETRY),
        },
    )
    # The page compares it with the row it replaces: a row that settled re-counts the chips.
    return trigger_client_event(response, "delivery-row", {"id": row.pk, "status": row.status})


@staff_required
def delivery_row(request, pk: int):
    """One row of the list (in-flight rows poll this until they settle; a retrying row
    asks when its next try is due)."""
    return _row_response(request, pk)


# --- one delivery (its page lives in detail.py) ---------------------------------------


@requires(RETRY)
@require_POST
def delivery_retry(request, pk: int):
    """Retry a failed, held or cancelled delivery (POST; double clicks retry once)."""
    delivery = get_object_or_404(Delivery, pk=pk)
    use_current = request.POST.get("version") == "current"
    done = retries.delivery_retry(delivery, user=request.user, use_current_version=use_current)
    if done.retry_accepted:
        message, level = f"Delivery {pk} is being retried.", "success"
    else:
        message, level = (
            f"Delivery {pk} is {done.get_status_display().lower()}: nothing to retry.",
            "warning",
        )
    if request.htmx:
        if request.POST.get("from") == "detail":
            return detail.live_answer(request, pk, message, level)
        return _toast(_row_response(request, pk), message, level)
    getattr(messages, level)(request, message)
    return redirect(_safe_next(request, reverse("dashboard:delivery_detail", args=[pk])))


# --- export ------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


EXPORT_HEADER = [
    "delivery_id",
    "created_at",
    "submitted_at",
    "form_id",
    "form_name",
    "submission_id",
    "respondent_id",
    "mapping",
    "mapping_version",
    "status",
    "attempts",
    "last_http_status",
    "last_error",
    "next_attempt_at",
    "tallyfy_run_id",
    "tallyfy_run_url",
]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return safe_cell(str(value).replace("\r", " ").replace("\n", " "))


@requires(EXPORT)
def deliveries_export(request):
    """The filtered deliveries as CSV, streamed row by row from the database."""
    _, filters = _filter_form(request.GET, _mappings())
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(EXPORT_HEADER)
        for row in queries.export_rows(filters):
            yield writer.writerow([_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="kickoff-deliveries-{stamp}.csv"'
    return response


# --- bulk retry --------------------------------------------------------------------------


@requires(RETRY, methods=("POST",))
def deliveries_bulk_retry(request):
    """ "Retry all N matching": the count for the current filter, a confirmation, then the job."""
    mappings = _mappings()
    data = request.POST if request.method == "POST" else request.GET
    filterset = DeliveryFilterSet(data, mappings=mappings)
    filters = filterset.delivery_filters
    description = _describe(filters, mappings)
    if request.method == "POST":
        job = retries.bulk_retry_start(
            filterset.qs,
            user=request.user,
            description=description,
            filters=_filter_params(data),
            use_current_version=request.POST.get("version") == "current",
        )
        messages.success(request, f"Bulk retry of {job.total} deliveries started.")
        return redirect("dashboard:deliveries_bulk", pk=job.pk)
    params = _filter_params(data)
    return render(
        request,
        "dashboard/deliveries/bulk_confirm.html",
        {
            "count": queries.retryable_count(filters),
            "description": description,
            "params": params,
            "filter_qs": _querystring(params),
            "rate_per_minute": round(retries.bulk_rate_per_second() * 60),
        },
    )


@requires(RETRY, methods=("POST",))
def deliveries_recover(request):
    """ "Recover since…": retry everything that failed after a time."""
    data = request.POST if request.method == "POST" else request.GET
    initial = (timezone.localtime() - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M")
    form = RecoverForm(data if data.get("since") else None, initial={"since": initial})
    count = None
    if form.is_bound and form.is_valid():
        since = form.cleaned_data["since"]
        if request.method == "POST":
            job = retries.bulk_retry_recover(
                since=since,
                user=request.user,
                use_current_version=request.POST.get("version") == "current",
            )
            messages.success(request, f"Recovering {job.total} failed deliveries.")
            return redirect("dashboard:deliveries_bulk", pk=job.pk)
        count = retries.recover_since(since).count()
    return render(request, "dashboard/deliveries/recover.html", {"form": form, "count": count})


@staff_required
def deliveries_bulk(request, pk: int):
    """A bulk retry's progress (polled by HTMX while it runs)."""
    # Reading progress changes nothing: a job whose step task was lost is restarted by
    # the sweep (integrations.tasks.sweep_deliveries), not by whoever watches it.
    job = get_object_or_404(BulkRetry.objects.select_related("created_by", "cancelled_by"), pk=pk)
    context = _bulk_context(job)
    if request.htmx:
        return render(request, "dashboard/deliveries/bulk.html#progress", context)
    return render(request, "dashboard/deliveries/bulk.html", context)


def _bulk_context(job: BulkRetry) -> dict:
    outcomes = retries.bulk_retry_outcomes(job)
    # Polled while the job runs and while what it retried is still on its way.
    settling = any(key == "retrying" and n for key, _, n in outcomes)
    return {"job": job, "outcomes": outcomes, "live": job.status == "running" or settling}


@requires(RETRY)
@require_POST
def deliveries_bulk_cancel(request, pk: int):
    """Stop a running bulk retry."""
    job = get_object_or_404(BulkRetry, pk=pk)
    job = retries.bulk_retry_cancel(job, user=request.user)
    message = f"Bulk retry stopped after {job.done} of {job.total}."
    if request.htmx:
        response = render(request, "dashboard/deliveries/bulk.html#progress", _bulk_context(job))
        return _toast(response, message)
    messages.success(request, message)
    return redirect("dashboard:deliveries_bulk", pk=pk)


# --- Tally's side ------------------------------------------------------------------------


@staff_required
def mapping_tally_log(request, pk: int):
    """Tally's own delivery log for the webhook of a mapping's form, with Redeliver."""
    mapping = get_object_or_404(Mapping.objects.select_related("tally_connection"), pk=pk)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    log = reconcile.tally_delivery_log(mapping, page=page)
    return render(request, "dashboard/deliveries/tally_log.html", {"mapping": mapping, "log": log})


@requires(RETRY)
@require_POST
def mapping_tally_redeliver(request, pk: int, event_id: str):
    """Ask Tally to send one logged event to Kickoff again."""
    mapping = get_object_or_404(Mapping.objects.select_related("tally_connection"), pk=pk)
    try:
        reconcile.tally_redeliver(mapping, event_id, request.user)
    except reconcile.RedeliverError as exc:
        message, level = str(exc), "error"
    else:
        message, level = (
            f"Tally was asked to deliver event {event_id} again; it shows up here once it arrives.",
            "success",
        )
    if request.htmx:
        response = render(
            request,
            "dashboard/deliveries/tally_log.html#redeliver_result",
            {"requested": level == "success"},
        )
        return _toast(response, message, level)
    getattr(messages, level)(request, message)
    return redirect("dashboard:mapping_tally_log", pk=pk)
