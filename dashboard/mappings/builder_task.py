"""The builder of a "Complete a task" mapping: the step's task form fields filled from the
answers (the same rows, encoders and checks as a launch), which run, the approval of an
approval step, and when to complete. `mapping_edit` hands task mappings to `task_edit`."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, trigger_client_event

from integrations import engine
from integrations.connections import NeedsReconnect
from integrations.http import ApiError
from integrations.mappings import (
    MappingError,
    builder_sides,
    mapping_blocking_problems,
    mapping_save_version,
    mapping_step,
    version_rules,
    version_spec,
)
from integrations.models import Mapping

from ..access import EDIT_MAPPINGS, requires
from .builder_checks import accept_all, refuse_unknown_placeholders
from .builder_common import (
    annotate_rows,
    learned_rows,
    listen_context,
    read_sides,
    row_problems,
    rule_forms_for,
)
from .builder_launch import launch_context, launch_edit_only
from .followup import followup_context
from .samples import form_samples
from .task_forms import ApprovalForm, RunMatchForm, TaskSettingsForm


def step_missing(mapping: Mapping, template) -> str:
    """Why the task builder can't be drawn (empty: it can)."""
    if template.steps is None:
        return f"Tallyfy did not list the steps of “{template.name}”, so the task can't be mapped."
    step = mapping_step(mapping, template)
    if step is None:
        return (
            f"The step “{mapping.step_name}” is no longer in the template “{template.name}”. "
            "Archive this mapping and make a new one for another step."
        )
    if step.captures is None:
        return f"Tallyfy did not list the task form fields of “{step.title}”; try again later."
    return ""


def task_sections(mapping: Mapping, data, form_side, template, step, version) -> dict:
    """The "Which run" and "Approval" forms (`data`: the posted builder, or None)."""
    saved_run = version.run_match if version else {}
    saved_approval = version.approval if version else {}
    refresh = reverse("dashboard:mapping_edit_task", args=[mapping.pk])
    return {
        "step": step,
        "run_form": RunMatchForm(
            data, sources=form_side.sources, fields=template.fields, saved=saved_run
        ),
        "approval_form": ApprovalForm(
            data,
            step=step,
            sources=form_side.sources,
            saved=saved_approval,
            refresh_url=refresh,
        )
        if step.is_approval
        else None,
    }


def task_edit(request, mapping: Mapping):
    sides = read_sides(request, mapping)
    if sides is None:
        return redirect("dashboard:mapping_detail", pk=mapping.pk)
    form_side, template = sides
    why = step_missing(mapping, template)
    if why:
        messages.error(request, why)
        return redirect("dashboard:mapping_detail", pk=mapping.pk)
    step = mapping_step(mapping, template)
    captures = list(step.captures)
    version = mapping.current_version
    data = accept_all(request.POST) if request.method == "POST" else None
    settings_form = TaskSettingsForm(data, initial={"name": mapping.name})
    rule_forms = rule_forms_for(data, captures, form_side, version)
    launch = launch_context(mapping, data, form_side, template, version)
    task = task_sections(mapping, data, form_side, template, step, version)
    run_form, approval_form = task["run_form"], task["approval_form"]
    followup = followup_context(mapping, data, version)
    saving = request.method == "POST" and not _redraw_only(request.POST)
    if saving:
        valid = (
            settings_form.is_valid()
            & all([f.is_valid() for f in rule_forms])
            & run_form.is_valid()
            & followup["followup_form"].is_valid()
            & (approval_form is None or approval_form.is_valid())
            & launch["launch"].is_valid()
        )
        # As the launch builder: a `{typo}` in a task field's template is refused on save.
        valid = valid and refuse_unknown_placeholders(settings_form, rule_forms, form_side)
        if valid:
            saved = _save(
                request, mapping, settings_form, rule_forms, task, launch, sides, followup
            )
            if saved:
                return redirect("dashboard:mapping_detail", pk=mapping.pk)
    else:
        for form in (launch["launch"], run_form, approval_form, followup["followup_form"]):
            if form is not None:
                form.quiet()
    problems = {}
    if version is not None or saving:
        problems = row_problems(version_rules(version) if version else (), captures, form_side)
    if version is not None:
        # The task-specific checks of the saved version (the approval rule above all).
        checked = engine.validate_task_spec(
            version_spec(version), captures, form_side.sources, is_approval=step.is_approval
        )
        task["approval_problems"] = [p for p in checked if p.field_id == engine.APPROVAL]
    annotate_rows(
        rule_forms,
        form_side,
        form_samples(mapping),
        check_url=reverse("dashboard:mapping_check_placeholders", args=[mapping.pk]),
    )
    rows = [(f, problems.get(f.kickoff_field.id, [])) for f in rule_forms]
    return render(
        request,
        "dashboard/mappings/builder.html",
        {
            "mapping": mapping,
            "task_mode": True,
            "settings_form": settings_form,
            "rows": rows,
            "template": template,
            "form_side": form_side,
            "placeholders": [(s.key, s.label) for s in form_side.sources],
            "invalid": saving,
            "learned": learned_rows(form_side),
            **launch,
            **task,
            **followup,
            **listen_context(mapping),
        },
    )


def _redraw_only(data) -> bool:
    """An add/remove button, or a suggestion accepted, without JavaScript: redraw only."""
    return launch_edit_only(data) or "accept" in data


def _save(request, mapping, settings_form, rule_forms, task, launch, sides, followup) -> bool:
    form_side, template = sides
    approval_form = task["approval_form"]
    name = settings_form.cleaned_data["name"]
    try:
        new = mapping_save_version(
            mapping,
            name_template="",
            rules=[f.rule() for f in rule_forms],
            form=form_side,
            template=template,
            actor=request.user,
            # The condition alone: people, deadlines and tags belong to launches.
            condition=launch["launch"].values()["condition"],
            run_match=task["run_form"].value(),
            approval=approval_form.rule() if approval_form else None,
            followup_form_id=followup["followup_form"].cleaned_data["followup_form_id"],
        )
    except MappingError as exc:
        messages.error(request, str(exc))
        return False
    Mapping.objects.filter(pk=mapping.pk).update(name=name)
    blocking = mapping_blocking_problems(mapping)
    if blocking:
        messages.warning(
            request, f"Saved version {new.number}. It cannot be enabled yet: {blocking[0]}"
        )
    else:
        messages.success(request, f"Saved version {new.number}.")
    return True


@requires(EDIT_MAPPINGS)
@require_POST
def mapping_edit_task(request, pk: int):
    """The task sections alone ("Which run", "Approval"), redrawn from what was posted;
    saves nothing."""
    mapping = get_object_or_404(Mapping, pk=pk, kind=Mapping.Kind.COMPLETE_TASK)
    try:
        form_side, template = builder_sides(mapping, fresh=False)
    except (ApiError, NeedsReconnect) as exc:
        response = reswap(HttpResponse(status=200), "none")
        message = f"Could not read the form or the template: {exc}. Your input is kept."
        return trigger_client_event(response, "toast", {"message": message, "level": "error"})
    step = mapping_step(mapping, template)
    if step is None:
        return reswap(HttpResponse(status=200), "none")
    task = task_sections(mapping, request.POST, form_side, template, step, mapping.current_version)
    for form in (task["run_form"], task["approval_form"]):
        if form is not None:
            form.quiet()
    return render(request, "dashboard/mappings/_task_builder.html", {"mapping": mapping, **task})
