"""Mapping services: create, save a version, enable (register Tally's webhook), disable,
and detect drift. Views and tasks call these; the pure encoding lives in the engine
(`integrations.engine`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from . import engine, launchrules
from .audit import audit_record
from .connections import NeedsReconnect, connection_call
from .contract import BLOCK_OPTIONS, QUESTION_IDS, check_record, record_template_steps
from .directory import fetch_directory
from .endpoints import (
    endpoint_ensure,
    form_enabled_elsewhere,
    mapping_endpoint,
    webhook_remove,
)
from .errors import MappingError
from .http import ApiError
from .mapping_words import clause_words, condition_words, describe_change  # noqa: F401 (re-exported)
from .models import Endpoint, FieldMapping, Mapping, MappingVersion
from .selectors.payloads import form_payloads
from .tally.answers import CHOICE_TYPES, Answer, ChoiceOption, answers_from_questions
from .tally.learned import Learned, fields_from_payloads, merge_sources
from .tally.questions import choices_without_block_options, questions_with_options
from .tallyfy.shapes import KickoffField, Step, parse_field

log = logging.getLogger(__name__)


# --- the two sides, live --------------------------------------------------------------------


@dataclass(frozen=True)
class FormSide:
    id: str
    name: str
    questions: list[dict[str, Any]]  # question dicts with options/rows/columns
    # The inputs the form's stored webhook bodies show, with a sample answer of each.
    learned: Learned = field(default_factory=lambda: Learned(fields=[]))

    @property
    def sources(self) -> list[Answer]:
        """The form's inputs as empty answers, the shape the engine reads: the REST
        questions merged with what its webhooks showed."""
        return merge_sources(answers_from_questions(self.questions), self.learned.fields)


@dataclass(frozen=True)
class TemplateSide:
    id: str
    name: str
    fields: list[KickoffField]
    # None: Tallyfy's answer did not list the steps (per-step owners and deadlines can't be
    # offered; the builder says so).
    steps: list[Step] | None = None


def fetch_form(connection, form_id: str) -> FormSide:
    """The form's questions with their options (two Tally calls), merged with the inputs
    its stored webhook bodies show; records what the questions and blocks held."""
    form = connection_call(connection, lambda c: c.get_form(form_id))
    questions = connection_call(connection, lambda c: c.get_questions(form_id))
    _record_form_contract(connection, questions, form.blocks)
    learned = fields_from_payloads(
        form_payloads(tally_connection_id=connection.pk, form_id=form_id)
    )
    return FormSide(
        id=form.id,
        name=form.name,
        questions=questions_with_options(questions, form.blocks),
        learned=learned,
    )


def _record_form_contract(connection, questions: list[Any], blocks: list[dict]) -> None:
    """What this read showed of QUESTION_IDS and BLOCK_OPTIONS (docs/vendor-notes.md,
    "Where the sources disagree")."""
    if questions:
        without = [q for q in questions if not getattr(q, "id", None)]
        check_record(
            connection,
            QUESTION_IDS,
            held=not without,
            detail=f"{len(without)} of {len(questions)} questions came without an id"
            if without
            else f"{len(questions)} questions, each with its id",
        )
    missing = choices_without_block_options(questions, blocks)
    if missing:
        check_record(
            connection,
            BLOCK_OPTIONS,
            held=False,
            detail="No options in the blocks for: " + ", ".join(missing),
        )
    elif any(getattr(q, "type", "") in CHOICE_TYPES for q in questions):
        check_record(connection, BLOCK_OPTIONS, held=True, detail="Every choice had its options")


def fetch_template(connection, template_id: str) -> TemplateSide:
    template = connection_call(connection, lambda c: c.get_template(template_id))
    record_template_steps(
        connection, listed=template.steps is not None, template_title=template.title
    )
    return TemplateSide(
        id=template.id, name=template.title, fields=list(template.prerun), steps=template.steps
    )


#: How long the builder's rows reuse the form and template read when the builder opened.
BUILDER_SIDES_SECONDS = 15 * 60


def builder_sides(mapping: Mapping, *, fresh: bool) -> tuple[FormSide, TemplateSide]:
    """The mapping's form and template, as the builder shows them.

    Opening and saving the builder read both live (`fresh=True`: three vendor calls) and
    keep the copy; each row re-rendered while someone edits (every change of a source)
    reuses it, instead of spending three calls of Tally's 100 a minute per change
    (docs/vendor-notes.md) and failing the row when Tally rate-limits. Saving re-reads and
    re-checks everything, so a template changed meanwhile is caught there.
    """
    tally, tallyfy = mapping.tally_connection, mapping.tallyfy_connection
    # The accounts' ids are in the key: a reconnect to another account never reuses a copy.
    key = "kickoff:builder:v1:" + ":".join(
        str(part)
        for part in (
            mapping.pk,
            tally.pk,
            tally.external_id,
            mapping.form_id,
            tallyfy.pk,
            tallyfy.external_id,
            mapping.template_id,
        )
    )
    if not fresh:
        kept = cache.get(key)
        if kept is not None:
            return kept
    sides = (
        fetch_form(tally, mapping.form_id),
        fetch_template(tallyfy, mapping.template_id),
    )
    cache.set(key, sides, BUILDER_SIDES_SECONDS)
    return sides


# --- versions -------------------------------------------------------------------------------


def version_fields(version: MappingVersion) -> list[KickoffField]:
    """The template's kick-off fields as they were when the version was saved."""
    return [parse_field(f) for f in version.template_fields]


# A version keeps the inputs learned from webhooks next to the REST questions, as entries
# with no `id` (so readers of questions skip them) under this key.
LEARNED_ENTRY = "kickoffLearned"


def _learned_entry(answer: Answer) -> dict[str, Any]:
    def options(items):
        return [{"id": o.id, "text": o.text} for o in items]

    return {
        LEARNED_ENTRY: {
            "key": answer.key,
            "label": answer.label,
            "type": answer.type,
            "options": options(answer.options),
            "rows": options(answer.rows),
            "columns": options(answer.columns),
        }
    }


def _learned_answer(entry: dict[str, Any]) -> Answer:
    def options(items):
        return tuple(
            ChoiceOption(str(o.get("id")), str(o.get("text") or ""))
            for o in items or []
            if isinstance(o, dict)
        )

    return Answer(
        str(entry.get("key") or ""),
        str(entry.get("label") or ""),
        str(entry.get("type") or ""),
        None,
        options=options(entry.get("options")),
        rows=options(entry.get("rows")),
        columns=options(entry.get("columns")),
    )


def form_snapshot(form: FormSide) -> list[dict[str, Any]]:
    """What a version stores of the form: its questions, then the inputs learned."""
    return list(form.questions) + [_learned_entry(a) for a in form.learned.fields]


def version_sources(version: MappingVersion) -> list[Answer]:
    """The form's inputs as they were when the version was saved, as empty answers."""
    questions = [q for q in version.form_questions if LEARNED_ENTRY not in q]
    learned = [
        _learned_answer(q[LEARNED_ENTRY])
        for q in version.form_questions
        if isinstance(q.get(LEARNED_ENTRY), dict)
    ]
    return merge_sources(answers_from_questions(questions), learned)


def engine_rule(rule: FieldMapping | RuleInput) -> engine.FieldRule | None:
    """The engine's rule for a saved row or a builder row; None when left empty."""
    if rule.source == FieldMapping.Source.NONE:
        return None
    return engine.FieldRule(
        target_field_id=rule.target_field_id,
        source=rule.source,
        source_key=rule.source_key,
        constant=rule.constant,
        template=rule.template,
        option_map=dict(rule.option_map or {}),
        default=rule.default,
    )


def version_rules(version: MappingVersion) -> tuple[engine.FieldRule, ...]:
    return tuple(r for r in map(engine_rule, version.fields.all()) if r is not None)


def version_spec(version: MappingVersion, *, marker: str = "") -> engine.MappingSpec:
    """The engine's view of a saved version."""
    return engine.MappingSpec(
        checklist_id=version.mapping.template_id,
        name_template=version.name_template,
        summary_template=version.summary_template,
        rules=version_rules(version),
        tags=tuple(version.tags or ()),
        folders=tuple(version.folders or ()),
        owner_id=version.owner_id,
        marker=marker,
        condition=launchrules.condition_from_json(version.condition),
        otherwise=version.otherwise,
        people=launchrules.people_from_json(version.people),
        deadlines=launchrules.deadlines_from_json(version.deadlines),
        tag_rules=launchrules.tag_rules_from_json(version.tag_rules),
        steps=launchrules.steps_from_json(version.template_steps),
        approval=launchrules.approval_from_json(version.approval),
    )


@dataclass
class RuleInput:
    """One row of the builder, as the form submitted it."""

    target_field_id: str
    source: str = FieldMapping.Source.NONE
    source_key: str = ""
    constant: Any = None
    template: str = ""
    option_map: dict[str, str] | None = None
    default: Any = None


def mapping_create(
    *,
    name: str,
    tally_connection,
    form: FormSide,
    tallyfy_connection,
    template: TemplateSide,
    actor,
    kind: str = Mapping.Kind.LAUNCH,
    step_id: str = "",
    step_name: str = "",
) -> Mapping:
    """A new draft mapping; a "Complete a task" one (`kind`) names the template's step."""
    task = kind == Mapping.Kind.COMPLETE_TASK
    if task and not step_id:
        raise MappingError("A “Complete a task” mapping needs the step whose task it completes.")
    default = (
        f"{form.name} → {step_name} ({template.name})" if task else f"{form.name} → {template.name}"
    )
    mapping = Mapping.objects.create(
        name=name or default,
        tally_connection=tally_connection,
        form_id=form.id,
        form_name=form.name,
        tallyfy_connection=tallyfy_connection,
        template_id=template.id,
        template_name=template.name,
        kind=kind,
        step_id=step_id if task else "",
        step_name=step_name if task else "",
        created_by=actor,
    )
    audit_record(actor=actor, action="mapping.created", obj=mapping, summary=f"Created {mapping}")
    return mapping


def mapping_step(mapping: Mapping, template: TemplateSide) -> Step | None:
    """The step a "Complete a task" mapping completes, as the template lists it now (None:
    not listed, or no longer in the template)."""
    return next((s for s in template.steps or () if s.id == mapping.step_id), None)


def target_fields(mapping: Mapping, template: TemplateSide) -> list[KickoffField]:
    """What the builder's rows fill: the template's kick-off fields for a launch, the
    step's task form fields for a "Complete a task" mapping (empty when Tallyfy did not
    list them or the step is gone)."""
    if mapping.kind != Mapping.Kind.COMPLETE_TASK:
        return list(template.fields)
    step = mapping_step(mapping, template)
    return list(step.captures or ()) if step is not None else []


def spec_problems(
    spec: engine.MappingSpec,
    template: TemplateSide,
    form: FormSide,
    directory: engine.Directory | None = None,
) -> list[engine.Problem]:
    """Everything wrong with `spec`; with `directory`, people rules are checked against
    Tallyfy's members and groups too."""
    return engine.validate_spec(spec, template.fields, form.sources, directory=directory)


def mapping_save_version(
    mapping: Mapping,
    *,
    name_template: str,
    rules: list[RuleInput],
    form: FormSide,
    template: TemplateSide,
    actor,
    summary_template: str = "",
    tags: list[str] | None = None,
    folders: list[str] | None = None,
    owner_id: int | None = None,
    condition: engine.Condition | None = None,
    otherwise: bool = False,
    people: tuple[engine.PeopleRule, ...] = (),
    deadlines: tuple[engine.DeadlineRule, ...] = (),
    tag_rules: tuple[engine.TagRule, ...] = (),
    followup_form_id: str = "",
    run_match: dict[str, Any] | None = None,
    approval: engine.ApprovalRule | None = None,
) -> MappingVersion:
    """Save the builder's state as a new immutable version and make it current.

    A version may be saved with problems (a draft); enabling refuses those. The launch
    rules are stored as `integrations.launchrules` lays them out, with the template's steps
    of the moment (their titles label the rules later). A "Complete a task" mapping's
    `template_fields` snapshot is its step's task form fields (what its rows fill).
    """
    task = mapping.kind == Mapping.Kind.COMPLETE_TASK
    if task and mapping_step(mapping, template) is None:
        raise MappingError(
            f"The step “{mapping.step_name}” is no longer in the template “{template.name}”."
        )
    targets = target_fields(mapping, template)
    fields_by_id = {f.id: f for f in targets}
    sources = {s.key: s for s in form.sources}
    with transaction.atomic():
        locked = Mapping.objects.select_for_update().get(pk=mapping.pk)
        previous = locked.current_version
        number = (
            locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
        version = MappingVersion.objects.create(
            mapping=locked,
            number=number,
            name_template=name_template,
            summary_template=summary_template,
            tags=list(tags or []),
            folders=list(folders or []),
            owner_id=owner_id,
            template_fields=[f.raw for f in targets],
            form_questions=form_snapshot(form),
            condition=launchrules.condition_json(condition),
            otherwise=otherwise,
            people=launchrules.people_json(people),
            deadlines=launchrules.deadlines_json(deadlines),
            tag_rules=launchrules.tag_rules_json(tag_rules),
            template_steps=launchrules.steps_json(template.steps or ()),
            followup_form_id=followup_form_id,
            run_match=dict(run_match or {}) if task else {},
            approval=launchrules.approval_json(approval) if task else {},
            created_by=actor,
        )
        FieldMapping.objects.bulk_create(
            [
                FieldMapping(
                    version=version,
                    target_field_id=r.target_field_id,
                    target_label=fields_by_id[r.target_field_id].label,
                    target_type=fields_by_id[r.target_field_id].field_type,
                    target_required=fields_by_id[r.target_field_id].required,
                    source=r.source,
                    source_key=r.source_key if r.source == FieldMapping.Source.FIELD else "",
                    source_label=sources[r.source_key].label if r.source_key in sources else "",
                    source_type=sources[r.source_key].type if r.source_key in sources else "",
                    constant=r.constant if r.source == FieldMapping.Source.CONSTANT else None,
                    template=r.template if r.source == FieldMapping.Source.TEMPLATE else "",
                    option_map=r.option_map or {},
                    default=r.default,
                )
                for r in rules
                if r.target_field_id in fields_by_id
            ]
        )
        version.change_summary = describe_change(previous, version)
        version.save(update_fields=["change_summary"])
        locked.current_version = version
        locked.attention = []
        locked.attention_checked_at = timezone.now()
        locked.form_name, locked.template_name = form.name, template.name
        locked.save()
    audit_record(
        actor=actor,
        action="mapping.version_saved",
        obj=mapping,
        summary=f"Saved {mapping} as version {version.number}: {version.change_summary}",
    )
    mapping.refresh_from_db()
    return version


# --- enable / disable -------------------------------------------------------------------------


def mapping_blocking_problems(mapping: Mapping) -> list[str]:
    """Why this mapping cannot be switched on, in the operator's words (empty when it can)."""
    version = mapping.current_version
    if version is None:
        return ["Save the mapping first."]
    reasons = [f"The template or form changed: {d}" for d in mapping.attention]
    spec = version_spec(version)
    if mapping.kind == Mapping.Kind.COMPLETE_TASK:
        if not (version.run_match or {}).get("how"):
            reasons.append("Choose how a submission finds its run (Which run).")
        problems = engine.validate_task_spec(
            spec,
            version_fields(version),
            version_sources(version),
            is_approval=any(s.id == mapping.step_id and s.is_approval for s in spec.steps),
        )
    else:
        problems = engine.validate_spec(
            spec, version_fields(version), version_sources(version), directory=_directory(mapping)
        )
    reasons += [p.message for p in problems if p.blocking]
    return reasons


def _directory(mapping: Mapping) -> engine.Directory | None:
    """Tallyfy's members and groups when the version names any (a constant owner that left
    the organization blocks Enable); None when none are named or Tallyfy can't be read."""
    version = mapping.current_version
    if not version or not version.people:
        return None
    try:
        return fetch_directory(mapping.tallyfy_connection)
    except (ApiError, NeedsReconnect):
        return None


def mapping_enable(mapping: Mapping, *, actor, missed: str = "") -> Endpoint:
    """Switch on. `missed`: what to do with submissions that arrived while it was off
    (`endpoints.missed_while_off`): "launch" leaves reconcile's window where it was, so
    its next run launches them; "skip" starts the window now (recorded in the audit
    event, which reconcile reads as its floor)."""
    refuse_archived(mapping, "enabled")
    reasons = mapping_blocking_problems(mapping)
    if reasons:
        raise MappingError("Cannot enable: " + " ".join(reasons))
    endpoint = endpoint_ensure(mapping)
    now = timezone.now()
    if missed == "skip":
        Endpoint.objects.filter(pk=endpoint.pk).update(reconcile_since=now)
        endpoint.reconcile_since = now
    Mapping.objects.filter(pk=mapping.pk).update(status=Mapping.Status.ENABLED, updated_at=now)
    mapping.status = Mapping.Status.ENABLED
    summary = f"Enabled {mapping}" + {
        "skip": ", skipping the submissions that arrived while it was off",
        "launch": ", launching the submissions that arrived while it was off",
    }.get(missed, "")
    extra = {"missed": missed} if missed else {}
    audit_record(actor=actor, action="mapping.enabled", obj=mapping, summary=summary, **extra)
    return endpoint


def mapping_disable(mapping: Mapping, *, actor) -> None:
    """Switch off; the last mapping of a form to go also removes Tally's webhook."""
    Mapping.objects.filter(pk=mapping.pk).update(
        status=Mapping.Status.DISABLED, updated_at=timezone.now()
    )
    mapping.status = Mapping.Status.DISABLED
    endpoint = mapping_endpoint(mapping)
    listening = bool(
        endpoint and endpoint.listening_until and endpoint.listening_until > timezone.now()
    )
    if endpoint and not listening and not form_enabled_elsewhere(mapping):
        webhook_remove(mapping, endpoint)
    audit_record(actor=actor, action="mapping.disabled", obj=mapping, summary=f"Disabled {mapping}")


# --- archive / restore ------------------------------------------------------------------------


def refuse_archived(mapping: Mapping, what: str) -> None:
    if mapping.status == Mapping.Status.ARCHIVED:
        raise MappingError(f"{mapping} is archived and cannot be {what}. Restore it first.")
