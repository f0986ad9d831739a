"""The builder's launch-rule sections: what they need from Tallyfy and the database, and the
fragment view that re-renders them while someone edits (a question or a test changed, a row
added or removed), from everything posted so nothing typed is lost."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, trigger_client_event

from integrations import engine, launchrules
from integrations.connections import NeedsReconnect
from integrations.directory import fetch_directory
from integrations.http import ApiError
from integrations.mappings import (
    FormSide,
    TemplateSide,
    builder_sides,
    condition_words,
    spec_problems,
    version_spec,
)
from integrations.models import Mapping, MappingVersion

from ..access import EDIT_MAPPINGS, requires
from .launch_forms import ADD, REMOVE, LaunchRules, Saved
from .launch_words import version_summary

STEPS_UNLISTED = (
    "Tallyfy did not list this template's steps, so per-step owners and deadlines can't be set."
)
# Problems of the launch rules carry these pseudo field ids (integrations.engine.rules).
SECTION_IDS = ("condition", "owner", "process", "tags")


def _directory(mapping: Mapping) -> tuple[engine.Directory | None, str]:
    try:
        return fetch_directory(mapping.tallyfy_connection), ""
    except NeedsReconnect as exc:
        reason = f"{exc.connection} needs reconnecting"
    except ApiError as exc:
        reason = str(exc)
    return None, (
        f"Could not read Tallyfy's members and groups ({reason}), so who gets the work can't "
        "be changed just now; the saved people rules are kept and the other sections work."
    )


def routing_lines(mapping: Mapping) -> list[str]:
    """The form's other enabled mappings, one line each: which submissions they take."""
    others = (
        Mapping.objects.filter(
            tally_connection_id=mapping.tally_connection_id,
            form_id=mapping.form_id,
            status=Mapping.Status.ENABLED,
        )
        .exclude(pk=mapping.pk)
        .exclude(current_version=None)
        .select_related("current_version")
        .order_by("name")
    )
    lines = []
    for other in others:
        version = other.current_version
        words = condition_words(launchrules.condition_from_json(version.condition))
        if version.otherwise:
            words = "otherwise (when no other mapping takes the submission)"
        lines.append(f"{other.name}: {words}")
    return lines


def launch_problems(version: MappingVersion | None, template, form, directory) -> dict:
    """The saved version's launch-rule problems, by section key (`condition`, `owner`,
    `process`, `step:<id>`, `deadline:<id>`, `tags`)."""
    if version is None:
        return {}
    problems: dict[str, list] = {}
    for p in spec_problems(version_spec(version), template, form, directory=directory):
        if p.field_id in SECTION_IDS or p.field_id.startswith(("step:", "deadline:")):
            problems.setdefault(p.field_id, []).append(p)
    return problems


def launch_context(
    mapping: Mapping, data, form_side: FormSide, template: TemplateSide, version
) -> dict:
    """What the launch-rule sections render (`data`: the posted builder, or None). A "Complete
    a task" mapping uses its condition alone ("When to complete"): no people, deadlines or
    tags, so Tallyfy's members are not read."""
    task = mapping.kind == Mapping.Kind.COMPLETE_TASK
    directory, directory_error = (None, "") if task else _directory(mapping)
    launch = LaunchRules(
        data,
        sources=form_side.sources,
        steps=[] if task else template.steps,
        directory=directory,
        saved=Saved.of(version),
        refresh_url=reverse("dashboard:mapping_edit_launch", args=[mapping.pk]),
    )
    problems = launch_problems(version, template, form_side, directory) if data is None else {}
    if task:
        problems = {k: v for k, v in problems.items() if k == "condition"}
    return {
        "task_mode": task,
        "launch": launch,
        "launch_problems": problems,
        "launch_summary": version_summary(version),
        "directory_error": directory_error,
        "steps_unlisted": STEPS_UNLISTED if template.steps is None else "",
        "routing": [] if task else routing_lines(mapping),
        "launch_add": ADD,
        "launch_remove": REMOVE,
    }


def launch_edit_only(data) -> bool:
    """Whether the builder was posted by an add/remove button (re-render, save nothing)."""
    return bool(data.get(ADD) or data.get(REMOVE))


@requires(EDIT_MAPPINGS)
@require_POST
def mapping_edit_launch(request, pk: int):
    """The launch-rule sections alone, re-rendered from what was posted; saves nothing."""
    mapping = get_object_or_404(Mapping, pk=pk)
    try:
        form_side, template = builder_sides(mapping, fresh=False)
    except (ApiError, NeedsReconnect) as exc:
        # Swapping in an error would drop what was typed: keep the page, say why.
        response = reswap(HttpResponse(status=200), "none")
        message = f"Could not read the form or the template: {exc}. Your input is kept."
        return trigger_client_event(response, "toast", {"message": message, "level": "error"})
    context = launch_context(mapping, request.POST, form_side, template, mapping.current_version)
    context["launch"].quiet()
    return render(
        request, "dashboard/mappings/_launch_builder.html", {"mapping": mapping, **context}
    )
