"""HTML pages of the sandbox Tallyfy: the home page (orgs, templates, runs, fault switches,
demo credentials) and a run page, what a person would see in Tallyfy."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import services, switches
from ..display import deadline_text, people_names, render_value
from ..models import AccessToken, Checklist, Fault, Organization, Run
from ..seed import CLIENT_ONBOARDING_ID, SUPPORT_TRIAGE_ID, reset
from ..shapes import field_json
from . import control


def home(request: HttpRequest) -> HttpResponse:
    """The sandbox Tallyfy's home: credentials, orgs, faults, switches, runs, templates."""
    orgs = Organization.objects.prefetch_related("members", "groups").order_by("name")
    checklists = (
        Checklist.objects.select_related("organization")
        .prefetch_related("prerun", "steps")
        .order_by("organization__name", "title")
    )
    featured = [c for c in checklists if c.id in (CLIENT_ONBOARDING_ID, SUPPORT_TRIAGE_ID)]
    others = [c for c in checklists if c not in featured]
    personal_tokens = AccessToken.objects.filter(kind=AccessToken.PERSONAL).select_related(
        "organization", "user"
    )
    return render(
        request,
        "sandbox_tallyfy/home.html",
        {
            "orgs": orgs,
            "featured": featured,
            "others": others,
            "runs": Run.objects.select_related("checklist", "organization").order_by("-created_at")[
                :25
            ],
            "faults": services.faults_active(),
            "switches": switches.state(),
            "fault_kinds": Fault.KINDS,
            "fault_scopes": Fault.SCOPES,
            "fault_variants": Fault.VARIANTS,
            "personal_tokens": personal_tokens,
            "oauth_tokens_live": AccessToken.objects.filter(
                kind=AccessToken.OAUTH, revoked=False
            ).count(),
            "client_id": settings.TALLYFY_CLIENT_ID,
            "api_base": request.build_absolute_uri("/sandbox/tallyfy/api"),
            "rate_limit": services.rate_limit_per_minute(),
            "now": timezone.now(),
        },
    )


@require_POST
def home_faults(request: HttpRequest) -> HttpResponse:
    """The fault switches form: add one, or clear them all."""
    if request.POST.get("action") == "clear":
        services.faults_clear()
        messages.info(request, "Fault switches cleared.")
    else:
        fault = control.fault_from(request.POST.dict())
        if isinstance(fault, str):
            messages.error(request, fault)
        else:
            messages.success(request, f"Next {fault.remaining} call(s) will {fault.kind}.")
    return redirect("sandbox_tallyfy:home")


@require_POST
def home_switches(request: HttpRequest) -> HttpResponse:
    """The variant switches form: set every switch shown, or put them back to settings."""
    if request.POST.get("action") == "clear":
        switches.clear()
        messages.info(request, "Switches back to their settings.")
        return redirect("sandbox_tallyfy:home")
    for variant in switches.VARIANTS:
        value = request.POST.get(variant.name)
        if value and (problem := switches.flip(variant.name, value)):
            messages.error(request, problem)
            return redirect("sandbox_tallyfy:home")
    messages.success(request, "Switches saved.")
    return redirect("sandbox_tallyfy:home")


@require_POST
def home_tokens(request: HttpRequest) -> HttpResponse:
    """Expire or revoke tokens, or reset the sandbox."""
    action = request.POST.get("action")
    if action == "expire":
        n = services.tokens_expire()
        messages.info(request, f"{n} OAuth access token(s) expired.")
    elif action == "revoke":
        n = services.tokens_revoke()
        messages.info(request, f"{n} token(s) revoked. Reset to restore the demo token.")
    elif action == "reset":
        reset()
        messages.info(request, "Sandbox reset: runs, faults and OAuth grants forgotten.")
    return redirect("sandbox_tallyfy:home")


def run_page(request: HttpRequest, org: str, run_id: str) -> HttpResponse:
    """`/app/{org}/processes/{run_id}`: the run with every kick-off field and its value."""
    run = get_object_or_404(
        Run.objects.select_related("checklist", "organization"), organization_id=org, id=run_id
    )
    fields = [
        {
            "label": f.label,
            "field_type": f.field_type,
            "required": f.required,
            "html": render_value(field_json(f), run.prerun.get(f.id)),
        }
        for f in run.checklist.prerun.all()
    ]
    tasks = [
        {
            "task": t,
            "owners": people_names(t.owners),
            "deadline": deadline_text(t.deadline),
            "fields": [
                {"label": c["label"], "html": render_value(c, t.taskdata.get(c["id"]))}
                for c in t.step.captures
            ],
            "completed_by": people_names({"users": [t.completed_by]})[0] if t.completed_by else "",
        }
        for t in run.tasks.select_related("step").order_by("position")
    ]
    people = {
        "owner": people_names({"users": [run.owner_id]})[0] if run.owner_id else "",
        "members": people_names({"users": run.users, "groups": run.groups}),
    }
    return render(
        request,
        "sandbox_tallyfy/run.html",
        {"run": run, "people": people, "fields": fields, "tasks": tasks},
    )
