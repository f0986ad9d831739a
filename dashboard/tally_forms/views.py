"""Tally forms: the list of every connected account's forms, and a form's tabs
(questions, submissions, analytics), one submission, and the CSV export.

All Tally data comes from `integrations.selectors.tally` (cached; stale copies with a notice when
Tally is slow or rate-limiting). Filters are GET forms validated with a Django Form, and
HTMX asks for named partials of the same templates (`"page.html#partial"`).
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify
from django.utils.timesince import timesince

from integrations.http import NotFound
from integrations.models import Connection, Delivery, Provider, Submission
from integrations.selectors import tally
from integrations.selectors.deliveries import form_delivery_outcomes, submission_deliveries
from integrations.selectors.mappings import mappings_by_form
from integrations.selectors.payloads import stored_payload
from integrations.tally.answers import (
    answers_from_questions,
    answers_from_submission,
    answers_from_webhook,
)
from integrations.tally.display import display

from ..access import EXPORT, requires, staff_required
from .analytics import PERIOD_LABELS, analytics_report
from .export import csv_rows
from .filters import STATUS_CHOICES, FormListFilter, PeriodFilter, SubmissionFilter, valid_filters

FORMS_PER_PAGE = 25
PREVIEW_COLUMNS = 3

# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _connection(connection_id: int) -> Connection:
    return get_object_or_404(Connection, pk=connection_id, provider=Provider.TALLY)


def _wants_refresh(request) -> bool:
    return request.GET.get("refresh") == "1"


def _after_refresh(request, *fetched):
    """Back to the same URL without `refresh=1` (a reload must not ask Tally again); what
    the refresh could not do is said once, as a message, since the page then shows the
    cached copy."""
    said = set()
    for f in fetched:
        if f is not None and f.message and f.message not in said:
            said.add(f.message)
            (messages.error if f.error else messages.warning)(request, f.message)
    if not said:
        messages.success(request, "Fresh data from Tally.")
    query = request.GET.copy()
    query.pop("refresh", None)
    return redirect(request.path + (f"?{query.urlencode()}" if query else ""))


def _form_header(request, connection: Connection, form_id: str, *, refresh: bool) -> dict:
    """What every tab shows above itself: the form, its account, any notice."""
    try:
        fetched = tally.tally_form(connection, form_id, refresh=refresh)
    except NotFound:
        raise Http404("Tally has no such form for this account.") from None
    return {
        "connection": connection,
        "form_id": form_id,
        "fetched_ago": _ago(fetched.fetched_at),
        "fresh_seconds": tally.FRESH_SECONDS,
        "form": fetched.data,
        "form_name": fetched.data.name if fetched.data else form_id,
        "header_fetched": fetched,
        "refresh_url": request.path + "?" + _query(request.GET, refresh="1"),
    }


def _ago(when: datetime | None) -> str:
    if when is None:
        return ""
    if timezone.now() - when < timedelta(minutes=1):
        return "just now"
    return timesince(when).replace("\xa0", " ") + " ago"


def _query(params, **changes) -> str:
    query = params.copy() if hasattr(params, "copy") else dict(params)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    if hasattr(query, "urlencode"):
        return query.urlencode()
    return urlencode(query)


def _messages(*fetched: tally.Fetched) -> dict:
    """Notices (stale copy) and errors (nothing to show), each said once."""
    notices, errors, reconnect = [], [], None
    for f in fetched:
        if f is None:
            continue
        if f.error and f.error not in errors:
            errors.append(f.error)
        elif f.notice and f.notice not in notices:
            notices.append(f.notice)
        reconnect = reconnect or f.reconnect
    return {"notices": notices, "errors": errors, "reconnect": reconnect}


# ---------------------------------------------------------------------------------------
# Forms list
# ---------------------------------------------------------------------------------------


@staff_required
def form_list(request):
    refresh = _wants_refresh(request)
    overview = tally.tally_forms(refresh=refresh)
    if refresh:
        return _after_refresh(request, *(f for _, f in overview.problems))
    workspaces = {r.form.workspace_id for r in overview.rows if r.form.workspace_id}
    filter_form = FormListFilter(
        request.GET or None, connections=overview.connections, workspaces=workspaces
    )
    filters = valid_filters(filter_form) if request.GET else {}
    rows = overview.rows
    if filters.get("q"):
        needle = filters["q"].casefold()
        rows = [
            r for r in rows if needle in r.form.name.casefold() or needle in r.form.id.casefold()
        ]
    if filters.get("account"):
        rows = [r for r in rows if r.connection.pk == filters["account"]]
    if filters.get("workspace"):
        rows = [r for r in rows if r.form.workspace_id == filters["workspace"]]
    paginator = Paginator(rows, FORMS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    mappings = mappings_by_form([(r.connection.pk, r.form.id) for r in page.object_list])
    for row in page.object_list:
        row.mappings = mappings.get((row.connection.pk, row.form.id), [])
    context = {
        "filter_form": filter_form,
        "page": page,
        "overview": overview,
        "filtered": bool(filters.get("q") or filters.get("account") or filters.get("workspace")),
        "refresh_url": "?" + _query(request.GET, refresh="1", page=None),
        "page_query": _query(request.GET, page=None),
    }
    template = (
        "dashboard/tally_forms/list.html#results"
        if request.htmx
        else "dashboard/tally_forms/list.html"
    )
    return render(request, template, context)


@staff_required
def form_latest(request, connection_id: int, form_id: str):
    """The "last submission" cell of the forms list, loaded after the page (HTMX)."""
    connection = _connection(connection_id)
    try:
        fetched = tally.tally_latest_submission(connection, form_id)
    except NotFound:
        raise Http404("Tally has no such form for this account.") from None
    return render(
        request,
        "dashboard/tally_forms/list.html#latest",
        {"latest": fetched.data, "fetched": fetched, "connection": connection, "form_id": form_id},
    )


# ---------------------------------------------------------------------------------------
# Form tabs
# ---------------------------------------------------------------------------------------


@staff_required
def form_detail(request, connection_id: int, form_id: str):
    _connection(connection_id)
    return redirect("dashboard:form_submissions", connection_id, form_id)


@staff_required
def form_questions(request, connection_id: int, form_id: str):
    connection = _connection(connection_id)
    refresh = _wants_refresh(request)
    context = _form_header(request, connection, form_id, refresh=refresh)
    fetched = tally.tally_questions(connection, form_id, refresh=refresh)
    if refresh:
        return _after_refresh(request, context["header_fetched"], fetched)
    required = {str(q.get("id")): q.get("required") for q in fetched.data}
    inputs = [
        {
            "answer": a,
            "required": required.get(a.key.removeprefix("question_").split("_", 1)[0]),
            "is_part": a.type in ("HIDDEN_FIELDS", "CALCULATED_FIELDS", "PAYMENT"),
        }
        for a in answers_from_questions(fetched.data)
    ]
    context.update(
        tab="questions",
        questions=fetched.data,
        inputs=inputs,
        **_messages(context["header_fetched"], fetched),
    )
    return render(request, "dashboard/tally_forms/questions.html", context)


def _submission_rows(submissions, questions: list[dict], columns: list) -> list[dict]:
    rows = []
    for sub in submissions:
        answers = {a.key: a for a in answers_from_submission(sub, questions)}
        rows.append(
            {
                "submission": sub,
                "cells": [display(answers[c.key]) if c.key in answers else None for c in columns],
            }
        )
    return rows


def _preview_columns(questions: list[dict]) -> list:
    """The first few inputs that read well in a table cell."""
    skip = {"HIDDEN_FIELDS", "CALCULATED_FIELDS", "FILE_UPLOAD", "SIGNATURE", "PAYMENT", "MATRIX"}
    return [a for a in answers_from_questions(questions) if a.type not in skip][:PREVIEW_COLUMNS]


@staff_required
def form_submissions(request, connection_id: int, form_id: str):
    connection = _connection(connection_id)
    refresh = _wants_refresh(request)
    filter_form = SubmissionFilter(request.GET or None)
    filters = valid_filters(filter_form) if request.GET else {"status": "all", "page": 1}
    page_no = filters.get("page") or 1
    until = filters.get("until")
    end = filters.get("end")
    # Tally's timestamps carry milliseconds; the pin covers the whole millisecond.
    end_param = (until + timedelta(microseconds=999)).isoformat() if until else end
    header = _form_header(request, connection, form_id, refresh=refresh) if not request.htmx else {}
    questions = tally.tally_questions(connection, form_id, refresh=refresh)
    fetched = tally.tally_submissions(
        connection,
        form_id,
        status=filters.get("status") or "all",
        start=filters.get("start"),
        end=end_param,
        page=page_no,
        refresh=refresh,
    )
    if refresh:
        return _after_refresh(request, header.get("header_fetched"), questions, fetched)
    result = fetched.data
    columns = _preview_columns(questions.data)
    rows = _submission_rows(result.items, questions.data, columns)
    if until is None and result.items and result.items[0].submitted_at:
        until = result.items[0].submitted_at
    base_query = {
        k: v
        for k, v in {
            "status": filters.get("status") or "all",
            "start": filters.get("start").isoformat() if filters.get("start") else None,
            "end": end.isoformat() if end else None,
        }.items()
        if v
    }
    more_query = urlencode(
        {**base_query, "page": page_no + 1, "until": until.isoformat() if until else ""}
    )
    context = {
        "connection": connection,
        "form_id": form_id,
        **header,
        "tab": "submissions",
        "filter_form": filter_form,
        "status": filters.get("status") or "all",
        "rows": rows,
        "columns": columns,
        "result": result,
        "totals": result.totals,
        "status_total": result.totals.get(filters.get("status") or "all"),
        "chips": [
            (
                value,
                label,
                result.totals.get(value),
                "?" + urlencode({**base_query, "status": value}),
            )
            for value, label in STATUS_CHOICES
        ]
        if result.totals
        else [],
        "more_url": f"{request.path}?{more_query}",
        "csv_url": reverse("dashboard:form_submissions_csv", args=[connection.pk, form_id])
        + ("?" + urlencode(base_query) if base_query else ""),
        "shown": (page_no - 1) * tally.SUBMISSIONS_PAGE_SIZE + len(rows),
        "colspan": 3 + len(columns),
        **_messages(header.get("header_fetched"), questions, fetched),
    }
    template = "dashboard/tally_forms/submissions.html"
    if request.htmx:
        template += "#rows"
    return render(request, template, context)


@staff_required
def submission_detail(request, connection_id: int, form_id: str, submission_id: str):
    connection = _connection(connection_id)
    refresh = _wants_refresh(request)
    try:
        context = _form_header(request, connection, form_id, refresh=refresh)
    except Http404:  # the whole form is gone from Tally: its submissions with it
        context = _gone_form_header(request, connection, form_id)
        return _stored_submission(request, context, form_id, submission_id)
    try:
        fetched = tally.tally_submission(connection, form_id, submission_id, refresh=refresh)
    except NotFound:
        return _stored_submission(request, context, form_id, submission_id)
    questions = tally.tally_questions(connection, form_id, refresh=refresh)
    if refresh:
        return _after_refresh(request, context["header_fetched"], fetched, questions)
    detail = fetched.data
    answers = []
    if detail is not None:
        source = questions.data or [q.raw for q in detail.questions]
        answers = [(a, display(a)) for a in answers_from_submission(detail.submission, source)]
    context.update(
        tab="submissions",
        detail=detail,
        submission=detail.submission if detail else None,
        submission_id=submission_id,
        answers=answers,
        raw_json=json.dumps(detail.submission.raw, indent=2, ensure_ascii=False) if detail else "",
        deliveries=submission_deliveries(form_id, submission_id),
        **_messages(context["header_fetched"], fetched, questions),
    )
    return render(request, "dashboard/tally_forms/submission.html", context)


def _gone_form_header(request, connection: Connection, form_id: str) -> dict:
    """The tabs' header for a form Tally no longer has, named as Kickoff stored it."""
    name = _stored_row(form_id).get("form_name")
    return {
        "connection": connection,
        "form_id": form_id,
        "form": None,
        "form_name": name or form_id,
        "refresh_url": request.path + "?" + _query(request.GET, refresh="1"),
    }


def _stored_row(form_id: str, submission_id: str | None = None) -> dict:
    """When Kickoff received the form's (or one submission's) newest stored copy, and the
    form's name then."""
    rows = Submission.objects.filter(form_id=form_id)
    if submission_id is not None:
        rows = rows.filter(submission_id=submission_id)
    return rows.order_by("-received_at").values("received_at", "form_name").first() or {}


def _stored_submission(request, context: dict, form_id: str, submission_id: str):
    """Tally no longer has the submission (deleted, or its form was): show the webhook
    body Kickoff stored when it arrived; with no copy either, say so in a 404 page."""
    context.update(tab="submissions", submission_id=submission_id)
    payload = stored_payload(form_id=form_id, submission_id=submission_id)
    if payload is None:
        return render(request, "dashboard/tally_forms/submission_gone.html", context, status=404)
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    context.update(
        stored_copy=True,
        received_at=_stored_row(form_id, submission_id).get("received_at"),
        stored={
            "id": data.get("submissionId") or submission_id,
            "respondent_id": data.get("respondentId") or "",
            "submitted_at": parse_datetime(str(data.get("createdAt") or "")),
        },
        answers=[(a, display(a)) for a in answers_from_webhook(payload)],
        raw_json=json.dumps(payload, indent=2, ensure_ascii=False),
        deliveries=submission_deliveries(form_id, submission_id),
    )
    return render(request, "dashboard/tally_forms/submission.html", context)


@staff_required
def form_analytics(request, connection_id: int, form_id: str):
    connection = _connection(connection_id)
    refresh = _wants_refresh(request)
    period_form = PeriodFilter(request.GET or None)
    period = (valid_filters(period_form).get("period") if request.GET else None) or "30d"
    context = _form_header(request, connection, form_id, refresh=refresh)
    fetched = tally.tally_analytics(connection, form_id, period=period, refresh=refresh)
    if refresh:
        return _after_refresh(request, context["header_fetched"], *fetched.values())
    report = analytics_report(period, fetched)
    outcomes = form_delivery_outcomes(connection.pk, form_id, period)
    header = _messages(context["header_fetched"])
    context.update(
        tab="analytics",
        period=period,
        period_form=period_form,
        periods=[
            (value, label, f"?{urlencode({'period': value})}")
            for value, label in PERIOD_LABELS.items()
        ],
        report=report,
        chart_specs=[(f"{c.id}-data", c.spec()) for c in report.charts if c.drawable],
        period_label=PERIOD_LABELS[period],
        drop_off_height=min(900, 80 + 34 * len(report.drop_off_rows)),
        notices=header["notices"] + [n for n in report.notices if n not in header["notices"]],
        errors=header["errors"] + [e for e in report.errors if e not in header["errors"]],
        reconnect=header["reconnect"] or report.reconnect,
        kickoff_outcomes=[
            (status.label, outcomes.get(status.value, 0), status.value)
            for status in Delivery.Status
        ],
        kickoff_total=sum(outcomes.values()),
    )
    return render(request, "dashboard/tally_forms/analytics.html", context)


# ---------------------------------------------------------------------------------------
# CSV export
# ---------------------------------------------------------------------------------------


@requires(EXPORT)
def form_submissions_csv(request, connection_id: int, form_id: str):
    connection = _connection(connection_id)
    filter_form = SubmissionFilter(request.GET or None)
    filters = valid_filters(filter_form) if request.GET else {"status": "all"}
    try:
        questions = tally.tally_questions(connection, form_id)
    except NotFound:
        raise Http404("Tally has no such form for this account.") from None
    end = filters.get("end")
    # Pin the export to "now" (or the end of the chosen day) so rows arriving during a long
    # export do not shift Tally's pages under it.
    pinned = (
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
        - timedelta(microseconds=1)
        if end
        else timezone.now()
    )
    status = filters.get("status") or "all"
    rows = csv_rows(
        connection,
        form_id,
        status=status,
        start=filters.get("start"),
        end=min(pinned, timezone.now()).isoformat(),
        questions=questions.data,
    )
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    name = slugify(f"tally-{form_id}-{status}-{timezone.localdate().isoformat()}")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["Cache-Control"] = "no-store"
    return response
