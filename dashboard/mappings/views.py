"""Mappings: list, create, build (HTMX rows), preview against a real submission, test
launch, versions, enable/disable, drift."""

from __future__ import annotations

import json
import re

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from integrations import engine, previews
from integrations.archive import archive_plan
from integrations.connections import NeedsReconnect
from integrations.directory import fetch_directory
from integrations.drift import mapping_check_drift
from integrations.endpoints import endpoint_reregister, mapping_listen_start, mapping_listen_stop
from integrations.http import ApiError
from integrations.mappings import (
    MappingError,
    builder_sides,
    engine_rule,
    mapping_blocking_problems,
    mapping_save_version,
    target_fields,
    version_rules,
)
from integrations.models import (
    Delivery,
    Endpoint,
    Mapping,
)
from integrations.selectors.mappings import mappings_with_recent_deliveries
from integrations.tally.ids import TALLY_ID_RULE, is_tally_id

from ..access import EDIT_MAPPINGS, SWITCH_MAPPINGS, requires, staff_required
from .archive import not_archived
from .builder_checks import (
    accept_all,
    accepted,
    check_as_typed,
    owner_picker,
    refuse_unknown_placeholders,
)
from .builder_common import (
    annotate_rows,
    learned_rows,
    listen_context,
    read_sides,
    row_problems,
    rule_forms_for,
)
from .builder_launch import launch_context, launch_edit_only
from .builder_task import task_edit
from .followup import followup_context
from .forms import MappingSettingsForm, RuleForm
from .kind_words import kind_context
from .samples import form_samples


@staff_required
def mapping_list(request):
    # Archived mappings are filtered here, not in SQL: there are tens of mappings, not
    # thousands, and the page needs their count for the toggle anyway.
    show_archived = request.GET.get("archived") == "1"
    rows = mappings_with_recent_deliveries()
    archived = sum(m.status == Mapping.Status.ARCHIVED for m, _ in rows)
    if not show_archived:
        rows = [(m, last) for m, last in rows if m.status != Mapping.Status.ARCHIVED]
    return render(
        request,
        "dashboard/mappings/list.html",
        {"rows": rows, "archived_count": archived, "show_archived": show_archived},
    )


# --- the builder -----------------------------------------------------------------------------


@requires(EDIT_MAPPINGS)
@not_archived("edited")
def mapping_edit(request, pk: int):
    mapping = get_object_or_404(Mapping, pk=pk)
    if mapping.kind == Mapping.Kind.COMPLETE_TASK:
        return task_edit(request, mapping)
    sides = read_sides(request, mapping)
    if sides is None:
        return redirect("dashboard:mapping_detail", pk=mapping.pk)
    form_side, template = sides
    version = mapping.current_version
    data = accept_all(request.POST) if request.method == "POST" else None
    initial = {
        "name": mapping.name,
        "name_template": version.name_template
        if version
        else f"{form_side.name} – {{submission_id}}",
        "summary_template": version.summary_template if version else "",
        "tags": ", ".join(version.tags) if version else "",
        "folders": ", ".join(version.folders) if version else "",
        "owner_id": version.owner_id if version else None,
    }
    settings_form = MappingSettingsForm(data, initial=initial)
    rule_forms = rule_forms_for(data, template.fields, form_side, version)
    launch = launch_context(mapping, data, form_side, template, version)
    followup = followup_context(mapping, data, version)
    owner_picker(settings_form, launch["launch"].directory)
    problems = {}
    # An add/remove button of the launch rules, or Accept of a suggestion (without
    # JavaScript), only redraws.
    saving = (
        request.method == "POST"
        and not launch_edit_only(request.POST)
        and "accept" not in request.POST
    )
    if saving:
        valid = (
            settings_form.is_valid()
            & all([f.is_valid() for f in rule_forms])
            & launch["launch"].is_valid()
            & followup["followup_form"].is_valid()
        )
        valid = valid and refuse_unknown_placeholders(settings_form, rule_forms, form_side)
        if valid:
            rules = [f.rule() for f in rule_forms]
            s = settings_form.cleaned_data
            Mapping.objects.filter(pk=mapping.pk).update(name=s["name"])
            new = mapping_save_version(
                mapping,
                name_template=s["name_template"],
                summary_template=s["summary_template"],
                tags=s["tags"],
                folders=s["folders"],
                owner_id=s["owner_id"],
                rules=rules,
                form=form_side,
                template=template,
                actor=request.user,
                followup_form_id=followup["followup_form"].cleaned_data["followup_form_id"],
                **launch["launch"].values(),
            )
            blocking = mapping_blocking_problems(mapping)
            if blocking:
                messages.warning(
                    request,
                    f"Saved version {new.number}. It cannot be enabled yet: {blocking[0]}",
                )
            else:
                messages.success(request, f"Saved version {new.number}.")
            return redirect("dashboard:mapping_detail", pk=mapping.pk)
    else:
        launch["launch"].quiet()
        followup["followup_form"].quiet()
    if version is not None or saving:
        rules = version_rules(version) if version else ()
        problems = row_problems(rules, template.fields, form_side)
    check_url = reverse("dashboard:mapping_check_placeholders", args=[mapping.pk])
    annotate_rows(rule_forms, form_side, form_samples(mapping), check_url=check_url)
    for name in ("name_template", "summary_template"):
        check_as_typed(settings_form[name], check_url)
    rows = [(f, problems.get(f.kickoff_field.id, [])) for f in rule_forms]
    placeholders = [(s.key, s.label) for s in form_side.sources]
    return render(
        request,
        "dashboard/mappings/builder.html",
        {
            "mapping": mapping,
            "settings_form": settings_form,
            "rows": rows,
            "template": template,
            "form_side": form_side,
            "placeholders": placeholders,
            "context_placeholders": engine.CONTEXT_PLACEHOLDERS,
            "invalid": saving,
            "learned": learned_rows(form_side),
            **followup,
            **launch,
            **listen_context(mapping),
        },
    )


@requires(EDIT_MAPPINGS)
@require_POST
@not_archived("edited")
def mapping_listen(request, pk: int):
    """Register the form's webhook and listen for a test submission (launches nothing)."""
    mapping = get_object_or_404(Mapping, pk=pk)
    try:
        endpoint = mapping_listen_start(mapping, actor=request.user)
    except (ApiError, NeedsReconnect) as exc:
        messages.error(request, f"Could not register the webhook in Tally: {exc}")
    else:
        until = timezone.localtime(endpoint.listening_until)
        messages.success(
            request,
            f"Listening until {until:%H:%M}: submit {mapping.form_name} in Tally. "
            "What arrives is stored and launches nothing.",
        )
    return redirect("dashboard:mapping_edit", pk=mapping.pk)


@requires(EDIT_MAPPINGS)
@require_POST
def mapping_listen_stop_view(request, pk: int):
    mapping = get_object_or_404(Mapping, pk=pk)
    try:
        mapping_listen_stop(mapping, actor=request.user)
    except (ApiError, NeedsReconnect) as exc:
        messages.warning(
            request, f"Stopped listening, but removing the Tally webhook failed: {exc}"
        )
    else:
        messages.success(request, "Stopped listening.")
    return redirect("dashboard:mapping_edit", pk=mapping.pk)


@requires(EDIT_MAPPINGS)
def mapping_listen_status(request, pk: int):
    """The listen panel alone, for the builder's poll."""
    mapping = get_object_or_404(Mapping, pk=pk)
    try:
        shown = max(0, int(request.GET.get("shown", "0")))
    except ValueError:
        shown = 0
    return render(
        request,
        "dashboard/mappings/builder.html#listen",
        {"mapping": mapping, **listen_context(mapping, shown=shown)},
    )


@requires(EDIT_MAPPINGS)
@require_POST
@not_archived("edited")
def mapping_edit_row(request, pk: int, field_id: str):
    """Re-render one builder row after its source changed, with its problems next to it."""
    mapping = get_object_or_404(Mapping, pk=pk)
    try:
        form_side, template = builder_sides(mapping, fresh=False)
    except (ApiError, NeedsReconnect) as exc:
        # The operator's choice stays as they set it; only the row's check says it could
        # not be made (an earlier "Fits" or "Required" would now be a guess).
        if not re.fullmatch(r"[\w-]{1,64}", field_id):
            raise Http404("No such kick-off field in the template") from None
        response = render(request, "dashboard/mappings/builder.html#rule_unchecked")
        retarget(response, f"#row-{field_id} > td:last-child")
        reswap(response, "outerHTML")
        trigger_client_event(
            response,
            "toast",
            {
                "message": f"Could not check this row: {exc}. Your choice is kept; "
                "saving checks every row again.",
                "level": "error",
            },
        )
        return response
    field = next((f for f in target_fields(mapping, template) if f.id == field_id), None)
    if field is None:
        raise Http404("No such kick-off field in the template")
    rule_form = RuleForm(accepted(request.POST, field_id), field=field, sources=form_side.sources)
    saved = mapping.current_version
    rule_form.has_rule = bool(saved and saved.fields.filter(target_field_id=field_id).exists())
    # The whole builder form comes with the row: sources other rows use are not suggested.
    others = [
        RuleForm(request.POST, field=f, sources=form_side.sources)
        for f in target_fields(mapping, template)
        if f.id != field_id
    ]
    annotate_rows(
        [rule_form],
        form_side,
        form_samples(mapping),
        taken=others,
        check_url=reverse("dashboard:mapping_check_placeholders", args=[mapping.pk]),
    )
    problems = []
    if rule_form.is_valid():
        rule = engine_rule(rule_form.rule())
        problems = engine.validate_rule(field, rule, form_side.sources)
    return render(
        request,
        "dashboard/mappings/builder.html#rule_row",
        {"form": rule_form, "problems": problems, "mapping": mapping},
    )


# --- detail, versions, enable -------------------------------------------------------------------


@staff_required
def mapping_detail(request, pk: int):
    mapping = get_object_or_404(
        Mapping.objects.select_related("tally_connection", "tallyfy_connection"), pk=pk
    )
    # Reading the page changes nothing: drift is checked by the periodic job and by the
    # "Check now" button (a POST), and the page shows when it last ran.
    archived = mapping.status == Mapping.Status.ARCHIVED
    versions = mapping.versions.select_related("created_by").prefetch_related("fields")
    return render(
        request,
        "dashboard/mappings/detail.html",
        {
            "mapping": mapping,
            "versions": versions,
            "blocking": [] if archived else mapping_blocking_problems(mapping),
            "rules_count": len(version_rules(mapping.current_version))
            if mapping.current_version
            else 0,
            # An archived mapping's webhook Tally would not delete: offered to remove again.
            "webhook_left": archived and archive_plan(mapping).webhook == "deleted",
            "recent": Delivery.objects.filter(mapping=mapping).order_by("-created_at")[:10],
            "endpoint": _endpoint(mapping),
            **kind_context(mapping),
        },
    )


@requires(EDIT_MAPPINGS)
@require_POST
def mapping_check_drift_view(request, pk: int):
    """ "Check now": compare the mapping with the live form and template."""
    mapping = get_object_or_404(
        Mapping.objects.select_related("tally_connection", "tallyfy_connection"), pk=pk
    )
    # An archived mapping is history: no drift to check (its connection may be gone).
    if mapping.current_version and mapping.status != Mapping.Status.ARCHIVED:
        try:
            differences = mapping_check_drift(mapping)
        except (ApiError, NeedsReconnect) as exc:
            messages.warning(request, f"Could not compare with the live form and template: {exc}")
        else:
            if not differences:
                messages.success(request, "The live form and template still fit this mapping.")
    return redirect("dashboard:mapping_detail", pk=pk)


def _endpoint(mapping: Mapping) -> Endpoint | None:
    return Endpoint.objects.filter(
        tally_connection_id=mapping.tally_connection_id, form_id=mapping.form_id
    ).first()


@requires(SWITCH_MAPPINGS)
@require_POST
def mapping_reregister_view(request, pk: int):
    """Put the mapping's webhook back in Tally (created again, or enabled again)."""
    mapping = get_object_or_404(Mapping.objects.select_related("tally_connection"), pk=pk)
    try:
        done = endpoint_reregister(mapping, actor=request.user)
    except MappingError as exc:
        message, level = str(exc), "error"
    except NeedsReconnect as exc:
        message, level = f"{exc.connection} needs reconnecting before re-registering.", "error"
    except ApiError as exc:
        message, level = f"Tally refused to re-register the webhook: {exc}", "error"
    else:
        message, level = _REREGISTERED[done], "success"
    if request.htmx:
        response = render(
            request,
            "dashboard/mappings/detail.html#webhook_state",
            {"mapping": mapping, "endpoint": _endpoint(mapping)},
        )
        return trigger_client_event(response, "toast", {"message": message, "level": level})
    getattr(messages, level)(request, message)
    return redirect("dashboard:mapping_detail", pk=mapping.pk)


_REREGISTERED = {
    "created": "Registered a new webhook in Tally: new submissions arrive again.",
    "enabled": "Enabled the webhook in Tally again: new submissions arrive again.",
    "present": "The webhook is already registered and enabled in Tally; nothing to change.",
}


# --- preview and test launch ----------------------------------------------------------------------


def _directory_or_none(mapping: Mapping):
    """Tallyfy's members and groups for naming people in a preview; None when Tallyfy
    can't be read (the preview then shows ids)."""
    try:
        return fetch_directory(mapping.tallyfy_connection)
    except (ApiError, NeedsReconnect):
        return None


@staff_required
def mapping_preview(request, pk: int):
    mapping = get_object_or_404(Mapping, pk=pk)
    if mapping.current_version is None:
        messages.info(request, "Save the mapping once before previewing it.")
        return redirect("dashboard:mapping_edit", pk=mapping.pk)
    submission_id = request.GET.get("submission") or None
    if submission_id is not None and not is_tally_id(submission_id):
        return HttpResponseBadRequest(
            f"?submission= must be a Tally submission id ({TALLY_ID_RULE}).",
            content_type="text/plain; charset=utf-8",
        )
    try:
        preview = previews.mapping_preview(mapping=mapping, submission_id=submission_id)
    except (ApiError, NeedsReconnect) as exc:
        messages.error(request, f"Could not read submissions from Tally: {exc}")
        return redirect("dashboard:mapping_detail", pk=mapping.pk)
    plan = preview.plan
    return render(
        request,
        "dashboard/mappings/preview.html",
        {
            "mapping": mapping,
            "submissions": preview.submissions,
            "chosen": preview.chosen,
            "plan": plan,
            "body_json": json.dumps(plan.body, indent=2, ensure_ascii=False) if plan else "",
            "body_rows": previews.body_rows(plan.body, mapping.current_version) if plan else [],
            "problem_lines": [(p, previews.problem_text(p)) for p in plan.problems] if plan else [],
            "blocking": preview.blocking,
            "routing": preview.routing,
            "route_rows": preview.route_rows,
            "people": previews.people_summary(
                plan.body, mapping.current_version, _directory_or_none(mapping)
            )
            if plan
            else [],
            "enable_blocking": mapping_blocking_problems(mapping),
            "test_run": request.session.pop(f"test-run-{mapping.pk}", None),
        },
    )


@requires(EDIT_MAPPINGS)
@require_POST
@not_archived("test-launched")
def mapping_test_launch(request, pk: int):
    """Launch a real process from one submission, after the operator confirmed."""
    mapping = get_object_or_404(Mapping, pk=pk)
    submission_id = request.POST.get("submission", "")
    try:
        launched = previews.mapping_test_launch(
            mapping=mapping, submission_id=submission_id, actor=request.user
        )
    except MappingError as exc:
        messages.error(request, str(exc))
    except (ApiError, NeedsReconnect) as exc:
        messages.error(request, f"Tallyfy refused the test launch: {exc}")
    else:
        messages.success(request, f"Launched test process “{launched.run.name}”.")
        request.session[f"test-run-{mapping.pk}"] = {"name": launched.run.name, "url": launched.url}
    query = f"?submission={submission_id}" if submission_id else ""
    return redirect(f"/mappings/{mapping.pk}/preview/{query}")
