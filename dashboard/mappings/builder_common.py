"""What both builders share (launching a process, completing a task): the rows of fields
to fill, their problems, the two sides read live, and the listen panel."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages

from integrations import engine
from integrations.connections import NeedsReconnect
from integrations.http import ApiError
from integrations.mappings import FormSide, builder_sides
from integrations.models import Mapping, MappingVersion
from integrations.selectors.payloads import form_listening
from integrations.tally.display import display
from integrations.tallyfy.shapes import KickoffField

from .builder_checks import check_as_typed
from .forms import RuleForm
from .samples import SourceSamples


def rule_forms_for(
    data, fields: list[KickoffField], form: FormSide, version: MappingVersion | None
):
    """One row per field to fill (kick-off fields, or a step's task form fields), required
    ones first."""
    saved = {r.target_field_id: r for r in version.fields.all()} if version else {}
    sources = form.sources
    ordered = sorted(fields, key=lambda f: (not f.required, f.position or 0))
    return [RuleForm(data, field=f, sources=sources, rule=saved.get(f.id)) for f in ordered]


def annotate_rows(
    rule_forms: list[RuleForm],
    form: FormSide,
    samples: dict[str, SourceSamples],
    taken: list[RuleForm] = (),
    check_url: str = "",
) -> None:
    """Give each row what the builder shows beside it: a source to accept when the field
    has no rule yet and none is chosen, and recent answers to the chosen source. `taken`:
    the builder's other rows, when only some are drawn."""
    chosen = {f.chosen_source() for f in [*rule_forms, *taken]}
    taken = {s.key for s in chosen if s is not None}
    for f in rule_forms:
        if check_url:
            check_as_typed(f["template"], check_url)
        source = f.chosen_source()
        if source is not None:
            f.samples = samples.get(source.key)
        elif not f.has_rule and not f["source"].value():
            f.suggestion = engine.suggest_source(f.kickoff_field, form.sources, taken)
            if f.suggestion is not None:
                f.samples = samples.get(f.suggestion.source.key)
                # One input is suggested to one row (required rows come first).
                taken.add(f.suggestion.source.key)


def row_problems(spec_rules, fields: list[KickoffField], form: FormSide) -> dict:
    problems: dict[str, list] = {}
    for p in engine.validate_rules(spec_rules, fields, form.sources):
        problems.setdefault(p.field_id, []).append(p)
    return problems


def read_sides(request, mapping):
    try:
        return builder_sides(mapping, fresh=True)
    except NeedsReconnect as exc:
        messages.error(request, f"{exc.connection} needs reconnecting before editing.")
    except ApiError as exc:
        messages.error(request, f"Could not read the form or the template: {exc}")
    return None


def learned_rows(form_side: FormSide) -> list[dict]:
    """The inputs learned from stored submissions, each with its newest answer shown."""
    samples = form_side.learned.samples
    return [
        {
            "field": a,
            "options": ", ".join(o.text for o in a.options),
            "sample": display(replace(a, value=samples.get(a.key))).text
            if a.key in samples
            else "",
        }
        for a in form_side.learned.fields
    ]


def listen_context(mapping: Mapping, *, shown: int | None = None) -> dict:
    """What the builder's "Listen for a test submission" panel shows; `shown` is how many
    submissions of the form were stored when the page was drawn (None: now)."""
    listening = form_listening(
        tally_connection_id=mapping.tally_connection_id, form_id=mapping.form_id
    )
    shown = listening.stored if shown is None else shown
    return {"listening": listening, "shown": shown, "new_arrived": listening.stored > shown}
