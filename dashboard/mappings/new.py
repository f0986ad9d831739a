"""New mapping: a Tally form, a Tallyfy template and what a submission does: launch a
process, or complete one step's task in a running process (then the step is picked too)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from integrations.connections import NeedsReconnect, connection_call
from integrations.http import ApiError
from integrations.mappings import MappingError, fetch_form, fetch_template, mapping_create
from integrations.models import Connection, Mapping, Provider
from integrations.selectors.tally import tally_forms

from ..access import EDIT_MAPPINGS, requires
from .forms import NewMappingForm

STEPS_UNLISTED = (
    "Tallyfy did not list the steps of “{template}”, so no task of it can be completed "
    "from a form. Launch mappings still work."
)
CAPTURES_UNLISTED = (
    "Tallyfy did not list the task form fields of “{step}”, so it can't be mapped yet. "
    "Try again later, or pick another step."
)


def _connections(provider):
    return list(
        Connection.objects.filter(provider=provider, status=Connection.Status.ACTIVE).order_by(
            "label"
        )
    )


def _pick(connections, pk):
    for c in connections:
        if str(c.pk) == str(pk):
            return c
    return connections[0]


def _template_steps(tallyfy, template_id: str):
    """(template side, steps error): the template read once, for its steps."""
    if not template_id:
        return None, ""
    try:
        template = fetch_template(tallyfy, template_id)
    except (ApiError, NeedsReconnect) as exc:
        return None, f"Could not read the template's steps: {exc}"
    if template.steps is None:
        return template, STEPS_UNLISTED.format(template=template.name)
    return template, ""


@requires(EDIT_MAPPINGS)
def mapping_new(request):
    tally_connections = _connections(Provider.TALLY)
    tallyfy_connections = _connections(Provider.TALLYFY)
    if not tally_connections or not tallyfy_connections:
        return render(request, "dashboard/mappings/new.html", {"missing_connections": True})
    data = request.POST if request.method == "POST" else None
    tallyfy = _pick(tallyfy_connections, request.GET.get("tallyfy") or request.POST.get("tallyfy"))
    query = request.GET.get("q", "").strip()
    forms_overview = tally_forms()
    form_choices = [
        (f"{r.connection.pk}:{r.form.id}", f"{r.form.name} · {r.connection.label}")
        for r in forms_overview.rows
    ]
    template_error = ""
    try:
        templates = list(
            connection_call(tallyfy, lambda c: list(c.iter_templates(q=query or None)))
        )
    except (ApiError, NeedsReconnect) as exc:
        templates, template_error = [], str(exc)
    # The steps are read only for a task mapping with its template chosen (one call).
    source = data if data is not None else request.GET
    wants_task = source.get("kind") == Mapping.Kind.COMPLETE_TASK
    template_side, steps_error = (
        _template_steps(tallyfy, source.get("tallyfy_template", "")) if wants_task else (None, "")
    )
    form = NewMappingForm(
        data,
        form_choices=form_choices,
        template_choices=[(t.id, t.title) for t in templates],
        steps=template_side.steps if template_side else None,
        initial={"kind": request.GET.get("kind") or Mapping.Kind.LAUNCH},
        steps_url=reverse("dashboard:mapping_new"),
    )
    if data is not None and form.is_valid():
        mapping = _create(request, form, tallyfy, template_side, steps_error)
        if mapping is not None:
            messages.success(request, f"Created {mapping}. Now choose where each field comes from.")
            return redirect("dashboard:mapping_edit", pk=mapping.pk)
    context = {
        "form": form,
        "tallyfy_connections": tallyfy_connections,
        "tallyfy": tallyfy,
        "q": query,
        "template_error": template_error,
        "steps_error": steps_error,
        "forms_problems": forms_overview.problems,
    }
    target = request.htmx.target if request.htmx else ""
    if target in ("template-field", "step-field"):
        return render(request, f"dashboard/mappings/new.html#{target.replace('-', '_')}", context)
    return render(request, "dashboard/mappings/new.html", context)


def _create(request, form, tallyfy, template_side, steps_error) -> Mapping | None:
    """The mapping the valid form describes; None with the reason added to the form."""
    data = form.cleaned_data
    task = data["kind"] == Mapping.Kind.COMPLETE_TASK
    step = None
    if task:
        if steps_error or template_side is None:
            form.add_error("step", steps_error or "Pick the template first.")
            return None
        step = next((s for s in template_side.steps if s.id == data["step"]), None)
        if step is None or step.captures is None:
            message = "Pick the step whose task a submission completes."
            if step is not None:
                message = CAPTURES_UNLISTED.format(step=step.title)
            form.add_error("step", message)
            return None
    connection_pk, form_id = data["tally_form"].split(":", 1)
    tally = get_object_or_404(Connection, pk=connection_pk, provider=Provider.TALLY)
    try:
        form_side = fetch_form(tally, form_id)
        template = template_side or fetch_template(tallyfy, data["tallyfy_template"])
        return mapping_create(
            name=data["name"],
            tally_connection=tally,
            form=form_side,
            tallyfy_connection=tallyfy,
            template=template,
            actor=request.user,
            kind=data["kind"],
            step_id=step.id if step else "",
            step_name=step.title if step else "",
        )
    except (ApiError, NeedsReconnect) as exc:
        form.add_error(None, f"Could not read the form or template: {exc}")
    except MappingError as exc:
        form.add_error(None, str(exc))
    return None
