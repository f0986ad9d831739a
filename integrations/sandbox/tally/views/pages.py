"""HTML pages of the sandbox Tally: home, "Submit a response", small admin actions."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .. import seed, services, shapes, switches
from ..catalog import CHOICE_TYPES, DEMO_API_KEY, PAYMENT_PARTS, VARIABLE_TYPES
from ..models import Form, Submission, TallyUser, Webhook, WebhookEvent

_INPUT_TYPES = {
    "INPUT_TEXT": "text",
    "INPUT_EMAIL": "email",
    "INPUT_PHONE_NUMBER": "tel",
    "INPUT_LINK": "text",  # Tally keeps what was typed: the scheme may be missing
    "INPUT_NUMBER": "number",
    "INPUT_DATE": "date",
    "INPUT_TIME": "time",
}
LOG_ROWS = 10


def home(request: HttpRequest) -> HttpResponse:
    """The sandbox Tally's home: users, faults, switches, forms, webhooks and their log."""
    users = list(TallyUser.objects.all())
    forms = (
        Form.objects.select_related("owner")
        .annotate(n=Count("submissions"))
        .order_by("owner", "created_at")
    )
    hooks = list(Webhook.objects.select_related("form").order_by("-created_at"))
    for hook in hooks:
        hook.recent = list(hook.events.order_by("-created_at", "-pk")[:LOG_ROWS])
        hook.total_events = hook.events.count()
    return render(
        request,
        "sandbox_tally/home.html",
        {
            "users": users,
            "demo_key": DEMO_API_KEY,
            "forms": forms,
            "hooks": hooks,
            "fault": services.faults_current(),
            "switches": switches.state(),
            "rate_limit": services.rate_limit(),
        },
    )


def _widgets(form: Form, hidden: dict[str, str]) -> list[dict]:
    """The form's questions as inputs for the submit page (hidden values from the link)."""
    widgets = []
    for q in form.questions:
        w = {**q, "name": f"question_{q['id']}", "input_type": _INPUT_TYPES.get(q["type"])}
        if q["type"] in VARIABLE_TYPES:
            w["subfields"] = [
                {
                    "name": f"question_{q['id']}_{v['uuid']}",
                    "label": v["name"],
                    "value": hidden.get(f"question_{q['id']}_{v['uuid']}", ""),
                }
                for v in q["variables"]
            ]
        elif q["type"] == "PAYMENT":
            defaults = {"price": q.get("amount"), "currency": q.get("currency")}
            w["subfields"] = [
                {"name": f"question_{q['id']}_{p}", "label": p, "value": defaults.get(p) or ""}
                for p in PAYMENT_PARTS
            ]
        elif q["type"] == "RANKING":
            w["positions"] = [
                {"name": f"question_{q['id']}__rank{i}", "label": f"#{i + 1}", "default": o["id"]}
                for i, o in enumerate(q["options"])
            ]
        elif q["type"] == "MATRIX":
            w["matrix"] = [
                {"row": r, "name": f"question_{q['id']}__row__{r['id']}"} for r in q["rows"]
            ]
        elif q["type"] == "RATING":
            w["scale"] = range(1, 6)
        elif q["type"] == "LINEAR_SCALE":
            w["scale"] = range(0, 11)
        widgets.append(w)
    return widgets


def _given_from_post(form: Form, request: HttpRequest) -> dict:
    """Turn the posted form into answers keyed by field key (as the control API takes)."""
    post, given = request.POST, {}
    for q in form.questions:
        name, qtype = f"question_{q['id']}", q["type"]
        if qtype in VARIABLE_TYPES or qtype == "PAYMENT":
            keys = [v["uuid"] for v in q["variables"]] if qtype in VARIABLE_TYPES else PAYMENT_PARTS
            for key in keys:
                raw = post.get(f"{name}_{key}", "").strip()
                if raw:
                    number = qtype == "PAYMENT" and key == "price"
                    number = number or any(
                        v["uuid"] == key and v.get("kind") == "NUMBER"
                        for v in q.get("variables", [])
                    )
                    given[f"{name}_{key}"] = _number(raw) if number else raw
        elif qtype in ("CHECKBOXES", "MULTI_SELECT"):
            chosen = post.getlist(name)
            if chosen:
                given[name] = chosen
        elif qtype == "RANKING":
            order = [post.get(f"{name}__rank{i}") for i in range(len(q["options"]))]
            order = [o for o in dict.fromkeys(order) if o]
            if order:
                given[name] = order
        elif qtype == "MATRIX":
            cells = {
                r["id"]: [post[f"{name}__row__{r['id']}"]]
                for r in q["rows"]
                if post.get(f"{name}__row__{r['id']}")
            }
            if cells:
                given[name] = cells
        elif qtype == "FILE_UPLOAD":
            files = request.FILES.getlist(name)
            if files:
                given[name] = [_file_entry(f.name, f.content_type, f.size) for f in files]
        elif qtype == "SIGNATURE":
            signed = post.get(name, "").strip()
            if signed:
                given[name] = [_file_entry(f"{shapes.stable_uuid(signed)}.png", "image/png", 7646)]
        else:
            raw = post.get(name, "").strip()
            if raw:
                given[name] = raw
    return given


def _number(raw: str):
    """A posted number as int or float (text when it is none)."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    return int(value) if value.is_integer() else value


def _file_entry(name: str, mime: str | None, size: int) -> dict:
    """A file answer as Tally stores uploads."""
    file_id = services.new_id()
    return {
        "id": file_id,
        "name": name,
        "url": f"https://storage.tally.so/private/sandbox/{file_id}/{name}"
        f"?accessToken={secrets.token_urlsafe(12)}",
        "mimeType": mime or "application/octet-stream",
        "size": size,
    }


def _hidden_from_query(form: Form, query) -> dict[str, str]:
    """Hidden field values from URL parameters of the same name, keyed by field key.

    Docs: a hidden field takes its value from the URL parameter of the same name
    (https://tally.so/help/hidden-fields); a variable not in the URL stays empty.
    """
    return {
        f"question_{q['id']}_{v['uuid']}": query[v["name"]]
        for q in form.questions
        if q["type"] == "HIDDEN_FIELDS"
        for v in q["variables"]
        if query.get(v["name"], "") != ""
    }


def _respond(request: HttpRequest, form: Form, *, hidden: dict[str, str] | None) -> HttpResponse:
    """Show the form; POST stores the response and delivers its webhooks.

    With `hidden` (the public page), hidden fields come from the link only, never from what
    was posted, as a respondent cannot edit them on Tally.
    """
    errors: list[str] = []
    if request.method == "POST":
        completed = not request.POST.get("partial")
        given = _given_from_post(form, request)
        if hidden is not None:
            given = {k: v for k, v in given.items() if not _is_hidden_key(form, k)} | hidden
        try:
            answers = shapes.parse_answers(form, given)
        except shapes.AnswerError as exc:
            errors.append(str(exc))
            answers = {}
        if completed and not errors:
            errors += [
                f"{q['title']} is required."
                for q in form.questions
                if q.get("required") and answers.get(q["id"]) in (None, [], "")
            ]
        if not errors:
            sub = services.submission_create(form=form, answers=answers, completed=completed)
            events = services.deliver_submission(sub)
            return render(
                request,
                "sandbox_tally/submitted.html",
                {"form": form, "submission": sub, "events": events, "public": hidden is not None},
            )
    hooks = form.webhooks.filter(is_enabled=True)
    return render(
        request,
        "sandbox_tally/submit.html",
        {
            "form": form,
            "widgets": _widgets(form, hidden or {}),
            "errors": errors,
            "hooks": hooks,
            "posted": request.POST if request.method == "POST" else {},
            "choice_types": CHOICE_TYPES,
            "public": hidden is not None,
        },
        status=400 if errors else 200,
    )


def _is_hidden_key(form: Form, key: str) -> bool:
    """Whether a field key belongs to one of the form's hidden fields."""
    return any(
        q["type"] == "HIDDEN_FIELDS" and key.startswith(f"question_{q['id']}_")
        for q in form.questions
    )


@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest, form_id: str) -> HttpResponse:
    """ "Submit a response": the form as real inputs; POST stores it and delivers webhooks."""
    form = get_object_or_404(Form.objects.select_related("owner"), id=form_id)
    return _respond(request, form, hidden=None)


@require_http_methods(["GET", "POST"])
def public_form(request: HttpRequest, form_id: str) -> HttpResponse:
    """`/r/<form id>`, the link a respondent opens (like https://tally.so/r/<form id>): the
    form, its hidden fields filled from the URL's query parameters."""
    form = get_object_or_404(Form.objects.select_related("owner"), id=form_id, status="PUBLISHED")
    return _respond(request, form, hidden=_hidden_from_query(form, request.GET))


def submission_preview(request: HttpRequest, form_id: str, submission_id: str) -> HttpResponse:
    """A submission as Tally's preview page shows it."""
    sub = get_object_or_404(
        Submission.objects.select_related("form"), form_id=form_id, public_id=submission_id
    )
    body = shapes.submission_json(sub, sub.form, formatted=True)
    by_id = {q["id"]: q for q in sub.form.questions}
    rows = [(by_id[r["questionId"]]["title"], r["formattedAnswer"]) for r in body["responses"]]
    return render(request, "sandbox_tally/submission.html", {"submission": sub, "rows": rows})


@require_POST
def faults_form(request: HttpRequest) -> HttpResponse:
    """The faults form: set the next N calls' fault, or clear it."""
    kind = request.POST.get("kind", "")
    if kind == "clear":
        services.faults_clear()
        messages.success(request, "Faults cleared.")
        return redirect("sandbox_tally:home")
    try:
        count = max(0, int(request.POST.get("count", "1")))
        retry_after = max(0, int(request.POST.get("retry_after", "1") or 1))
        hang = max(0.0, float(request.POST.get("hang_seconds", "15") or 15))
    except ValueError:
        messages.error(request, "Count, Retry-After and hang seconds must be numbers.")
        return redirect("sandbox_tally:home")
    if kind not in ("500", "429", "hang"):
        raise Http404
    services.faults_set(kind=kind, count=count, retry_after=retry_after, hang_seconds=hang)
    messages.success(request, f"The next {count} API call(s) will answer {kind}.")
    return redirect("sandbox_tally:home")


@require_POST
def tokens_action(request: HttpRequest, action: str) -> HttpResponse:
    """Expire or revoke every OAuth token."""
    if action == "expire":
        n = services.tokens_expire_all()
        messages.success(request, f"Expired {n} access token(s).")
    elif action == "revoke":
        n = services.tokens_revoke_all()
        messages.success(request, f"Revoked {n} token(s), refresh tokens included.")
    else:
        raise Http404
    return redirect("sandbox_tally:home")


@require_POST
def redeliver(request: HttpRequest, event_id: str) -> HttpResponse:
    """Redeliver one logged event now."""
    event = get_object_or_404(WebhookEvent.objects.select_related("webhook"), public_id=event_id)
    copy = services.event_redeliver(event)
    messages.success(request, f"Redelivered: {copy.status} ({copy.status_code or 'no answer'}).")
    return redirect("sandbox_tally:home")


@require_POST
def deliver_due_now(request: HttpRequest) -> HttpResponse:
    """Run every due webhook retry now."""
    done = services.deliver_due()
    messages.success(request, f"Ran {len(done)} due retr{'y' if len(done) == 1 else 'ies'}.")
    return redirect("sandbox_tally:home")


@require_POST
def reset(request: HttpRequest) -> HttpResponse:
    """Reset the sandbox Tally to its seeded state."""
    seed.reset()
    messages.success(request, "Sandbox Tally reset to its seeded state.")
    return redirect("sandbox_tally:home")


@require_POST
def switches_form(request: HttpRequest) -> HttpResponse:
    """The variant switches form: set every switch shown, or put them back to settings."""
    if request.POST.get("action") == "clear":
        switches.clear()
        messages.success(request, "Switches back to their settings.")
        return redirect("sandbox_tally:home")
    for variant in switches.VARIANTS:
        value = request.POST.get(variant.name)
        if value and (problem := switches.flip(variant.name, value)):
            messages.error(request, problem)
            return redirect("sandbox_tally:home")
    messages.success(request, "Switches saved.")
    return redirect("sandbox_tally:home")


@require_POST
def webhook_action(request: HttpRequest, webhook_id: str, action: str) -> HttpResponse:
    """Tally's Integrations tab: disable, enable or delete a webhook behind Kickoff's back."""
    if action == "delete":
        done = services.webhook_delete(webhook_id)
    elif action in ("disable", "enable"):
        done = services.webhook_set_enabled(webhook_id, action == "enable")
    else:
        raise Http404
    if not done:
        raise Http404
    messages.success(request, f"Webhook {webhook_id}: {action}d in Tally's Integrations tab.")
    return redirect("sandbox_tally:home")
