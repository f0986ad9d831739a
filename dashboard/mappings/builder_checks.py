"""The builder's checks as the operator types: `{placeholders}` no Tally field fills
(flagged inline, refused on save), a suggestion accepted in one click, and the fallback
owner picked from Tallyfy's members instead of typed as an id."""

from __future__ import annotations

import re

from django import forms
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from integrations import engine
from integrations.connections import NeedsReconnect
from integrations.http import ApiError
from integrations.mappings import FormSide, builder_sides
from integrations.models import Mapping

from ..access import EDIT_MAPPINGS, requires
from .archive import not_archived
from .forms import TEMPLATE, MappingSettingsForm, RuleForm
from .people_forms import member_label

#: The builder's inputs that take `{placeholders}` and are checked as typed.
CHECKED_INPUTS = ("name_template", "summary_template")
_RULE_TEMPLATE = re.compile(r"f-[\w-]{1,64}-template")


def check_as_typed(bound_field, url: str) -> None:
    """Ask the server about the input's placeholders while the operator types (debounced)."""
    name = bound_field.html_name
    bound_field.field.widget.attrs.update(
        {
            "hx-post": f"{url}?input={name}",
            "hx-trigger": "input changed delay:400ms",
            "hx-target": f"#ph-{name}",
            "hx-swap": "outerHTML",
            "hx-sync": "this:replace",
            "aria-describedby": f"ph-{name}",
        }
    )


def unknown_message(names: list[str]) -> str:
    shown = ", ".join(f"{{{n}}}" for n in names)
    verb = "matches" if len(names) == 1 else "match"
    return (
        f"{shown} {verb} no Tally field, so it would be sent empty. Use a field's label or "
        "key, or one of Kickoff's own (see “Placeholders you can use”)."
    )


def lookup_for(form_side: FormSide) -> engine.PlaceholderLookup:
    return engine.PlaceholderLookup(form_side.sources, engine.CONTEXT_PLACEHOLDERS)


def refuse_unknown_placeholders(
    settings_form: MappingSettingsForm, rule_forms: list[RuleForm], form_side: FormSide
) -> bool:
    """Mark every placeholder nothing fills as an error of its input; True when none.
    Saving refuses them: a typo in braces would otherwise launch processes with a hole."""
    lookup = lookup_for(form_side)
    ok = True
    for name in CHECKED_INPUTS:
        unknown = lookup.unknown_in(settings_form.cleaned_data.get(name) or "")
        if unknown:
            settings_form.add_error(name, unknown_message(unknown))
            ok = False
    for form in rule_forms:
        if (form.cleaned_data.get("source") or "") != TEMPLATE:
            continue
        unknown = lookup.unknown_in(form.cleaned_data.get("template") or "")
        if unknown:
            form.add_error("template", unknown_message(unknown))
            ok = False
    return ok


def accepted(data, field_id: str):
    """`data` with a suggestion accepted for `field_id` (the Accept button posts
    `accept=<field id>=<source>`), or `data` as it is."""
    value = data.get("accept", "") if data is not None else ""
    target, _, source = value.partition("=")
    if not source or target != field_id:
        return data
    data = data.copy()
    data[f"f-{field_id}-source"] = source
    return data


def accept_all(data):
    """The builder posted by an Accept button without JavaScript: that row accepted."""
    if data is None or "accept" not in data:
        return data
    return accepted(data, data["accept"].partition("=")[0])


def owner_picker(settings_form: MappingSettingsForm, directory) -> None:
    """The fallback owner as a list of Tallyfy's members when they could be read (an id
    that is no longer a member stays offered, so the saved choice is not silently lost)."""
    if directory is None:
        return
    field = settings_form.fields["owner_id"]
    field.label = "Fallback owner"  # before the bound field is made: it copies the label
    choices = [("", "— nobody —")] + [(str(m.id), member_label(m)) for m in directory.members]
    current = settings_form["owner_id"].value()
    if current and str(current) not in {c for c, _ in choices}:
        choices.append((str(current), f"user {current} (not a member now)"))
    field.widget = forms.Select(choices=choices)


@requires(EDIT_MAPPINGS)
@require_POST
@not_archived("edited")
def mapping_check_placeholders(request, pk: int):
    """The inline note under a name, summary or template input: its unknown placeholders."""
    mapping = get_object_or_404(Mapping, pk=pk)
    name = request.GET.get("input", "")
    if name not in CHECKED_INPUTS and not _RULE_TEMPLATE.fullmatch(name):
        name = ""
    unknown, unchecked = [], False
    if name:
        try:
            form_side, _ = builder_sides(mapping, fresh=False)
        except (ApiError, NeedsReconnect):
            unchecked = True
        else:
            unknown = lookup_for(form_side).unknown_in(request.POST.get(name, ""))
    return render(
        request,
        "dashboard/mappings/builder.html#placeholder_note",
        {
            "input": name,
            "message": unknown_message(unknown) if unknown else "",
            "unchecked": unchecked,
        },
    )
