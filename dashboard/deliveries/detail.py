"""One delivery's page: its timeline (received → each try → staff actions → now), errors in
words with the next step, and its HTMX actions (cancel the next try, retry now, answer a
needs-a-check), each answering with the whole live part so every badge changes together."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from integrations import retries
from integrations.explain import explain, same_version_warning
from integrations.models import Delivery
from integrations.retry_now import delivery_retry_now
from integrations.selectors import deliveries as queries
from integrations.tally.answers import answers_from_webhook
from integrations.tally.display import display

from ..access import RETRY, requires, staff_required
from .timeline import delivery_timeline


def _pretty_payload(delivery: Delivery) -> str:
    raw = bytes(delivery.submission.raw_body or b"")
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace") or json.dumps(
            delivery.submission.payload, indent=2, ensure_ascii=False
        )


def _last_error(delivery: Delivery, attempts: list) -> dict:
    """The delivery's error in words, from its latest try (which knows the error kind)."""
    if not delivery.last_error or delivery.status in (Delivery.Status.SUCCEEDED,):
        return {}
    last = attempts[-1] if attempts else None
    kind = last.error_kind if last and last.error_message == delivery.last_error else ""
    current = delivery.mapping.current_version
    is_current = current is not None and current.pk == delivery.mapping_version_id
    explanation = explain(
        kind,
        delivery.last_error,
        delivery.last_status_code,
        mapping_kind=delivery.mapping.kind,
        version_current=is_current,
    )
    warning = ""
    if delivery.status in Delivery.RETRYABLE:
        warning = same_version_warning(
            explanation.kind,
            version_current=is_current,
            version_number=delivery.mapping_version.number,
        )
    return {"explanation": explanation, "same_version_warning": warning}


def _approval_decision(delivery: Delivery, attempts) -> str:
    """An approval task's decision as the completing try sent it: "Approved", "Rejected"
    or "" (not an approval, or not completed by Kickoff)."""
    if delivery.status != Delivery.Status.SUCCEEDED or not attempts:
        return ""
    body = attempts[-1].request_body
    decided = body.get("is_approved") if isinstance(body, dict) else None
    if decided is None or attempts[-1].outcome != "succeeded":
        return ""
    return "Approved" if decided else "Rejected"


def detail_context(delivery: Delivery) -> dict:
    for candidate in delivery.candidates or []:
        candidate["created"] = parse_datetime(candidate.get("created_at") or "")
    attempts = queries.delivery_attempts(delivery)
    for a in attempts:
        a.request_pretty = (
            json.dumps(a.request_body, indent=2, ensure_ascii=False) if a.request_body else ""
        )
    audit = queries.delivery_audit_events(delivery)
    return {
        "d": delivery,
        "decision": _approval_decision(delivery, attempts),
        "attempts": attempts,
        "timeline": delivery_timeline(delivery, attempts, audit),
        "in_flight": Delivery.IN_FLIGHT,
        "retryable": Delivery.RETRYABLE,
        "current_version": delivery.mapping.current_version,
        **_last_error(delivery, attempts),
    }


@staff_required
def delivery_detail(request, pk: int):
    """A delivery: the submission, the mapping version, its timeline, what comes next."""
    delivery = queries.delivery_for_page(pk)
    if delivery is None:
        raise Http404("No such delivery.")
    if request.htmx and request.htmx.target == "delivery-live":
        return _live_part(request, delivery)
    context = detail_context(delivery)
    answers = [(a, display(a)) for a in answers_from_webhook(delivery.submission.payload or {})]
    context.update(
        answers=answers,
        raw_json=_pretty_payload(delivery),
        bulk_jobs=queries.delivery_bulk_retries(delivery),
    )
    return render(request, "dashboard/deliveries/detail.html", context)


def live_answer(request, pk: int, message: str, level: str) -> HttpResponse:
    """The delivery page's live part (HTMX) or a redirect to the page, with `message`."""
    if request.htmx:
        response = _live_part(request, queries.delivery_for_page(pk))
        return trigger_client_event(response, "toast", {"message": message, "level": level})
    getattr(messages, level)(request, message)
    return redirect("dashboard:delivery_detail", pk=pk)


def _live_part(request, delivery: Delivery) -> HttpResponse:
    """The live part, plus the heading's state and run button swapped out of band: all that
    shows the delivery's state changes together."""
    context = detail_context(delivery) | {"oob": True}
    return render(request, "dashboard/deliveries/detail.html#live", context)


@requires(RETRY)
@require_POST
def delivery_cancel_next(request, pk: int):
    """Cancel a delivery's scheduled automatic retry."""
    delivery = get_object_or_404(Delivery, pk=pk)
    done = retries.delivery_cancel_next(delivery, user=request.user)
    if done.cancel_accepted:
        message, level = "The scheduled retry is cancelled. Retry sends it again.", "success"
    else:
        message, level = "No retry was scheduled any more.", "warning"
    return live_answer(request, pk, message, level)


@requires(RETRY)
@require_POST
def delivery_retry_now_view(request, pk: int):
    """Retry now a delivery whose automatic retry is scheduled, instead of waiting."""
    delivery = get_object_or_404(Delivery, pk=pk)
    done = delivery_retry_now(delivery, user=request.user)
    if done.retry_accepted:
        message, level = f"Delivery {pk} is being tried now.", "success"
    else:
        message, level = (
            f"Delivery {pk} is {done.get_status_display().lower()}: no retry was waiting.",
            "warning",
        )
    return live_answer(request, pk, message, level)


@requires(RETRY)
@require_POST
def delivery_use_run(request, pk: int):
    """Needs a check: staff say which Tallyfy run the unanswered launch made."""
    delivery = get_object_or_404(
        Delivery.objects.select_related("mapping__tallyfy_connection"), pk=pk
    )
    try:
        done = retries.delivery_use_run(
            delivery, run_id=request.POST.get("run_id", ""), user=request.user
        )
    except retries.CheckError as exc:
        return live_answer(request, pk, str(exc), "error")
    if done.check_accepted:
        return live_answer(
            request, pk, f"Delivery {pk} now points at run {done.run_id}.", "success"
        )
    return live_answer(
        request, pk, f"Delivery {pk} is {done.get_status_display().lower()} already.", "warning"
    )


@requires(RETRY)
@require_POST
def delivery_launch_unchecked(request, pk: int):
    """Needs a check: staff say the unanswered launch made no run; launch it now."""
    delivery = get_object_or_404(Delivery, pk=pk)
    done = retries.delivery_launch_unchecked(delivery, user=request.user)
    if done.check_accepted:
        return live_answer(request, pk, f"Delivery {pk} is being launched.", "success")
    return live_answer(
        request, pk, f"Delivery {pk} is {done.get_status_display().lower()} already.", "warning"
    )
