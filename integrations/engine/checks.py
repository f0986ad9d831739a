"""Checks of a mapping without a submission: what the builder and "enable" report.

`sources` are the form's questions as empty answers (`answers_from_questions`) or a sample
submission's answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrations.tally.answers import Answer, answer_index
from integrations.tallyfy.shapes import KickoffField

from .compatibility import is_compatible
from .encoders import constant_answer, encode_value
from .options import find_option, resolve_option
from .placeholders import CONTEXT_PLACEHOLDERS, PlaceholderLookup, unknown_placeholders
from .rule_checks import launch_rule_problems
from .rules import (
    DUPLICATE,
    INCOMPATIBLE,
    INVALID,
    NAME,
    OPTIONS_UNKNOWN,
    REQUIRED,
    SUMMARY,
    UNKNOWN_OPTION,
    UNKNOWN_SOURCE,
    UNMATCHED_OPTION,
    Directory,
    FieldRule,
    MappingSpec,
    Problem,
    field_problem,
    unknown_target,
)

_CHOICE_TARGETS = ("radio", "dropdown", "multiselect")


def validate_spec(
    spec: MappingSpec,
    fields: Sequence[KickoffField],
    sources: Sequence[Answer],
    *,
    directory: Directory | None = None,
) -> list[Problem]:
    """What is wrong with a mapping before any submission arrives.

    Checks: required field with nothing mapped, rule for a field the template no longer has,
    Tally field no longer in the form, type pairs that don't fit, option-map entries pointing
    to a Tallyfy option that no longer exists, Tally options that match no Tallyfy option,
    choices whose options no source names, constants and defaults that can't be sent,
    unknown placeholders; then the launch rules (`rule_checks`), members and groups checked
    against `directory` when given.
    """
    lookup = _lookup(sources)
    problems = _rules_problems(spec.rules, fields, sources, lookup)
    problems += unknown_placeholders(NAME, "Process name", spec.name_template, lookup)
    problems += unknown_placeholders(SUMMARY, "Summary", spec.summary_template, lookup)
    problems += launch_rule_problems(spec, sources, directory)
    return problems


def validate_rules(
    rules: Sequence[FieldRule], fields: Sequence[KickoffField], sources: Sequence[Answer]
) -> list[Problem]:
    """`validate_spec` for the kick-off fields only (not the process name and summary)."""
    return _rules_problems(rules, fields, sources, _lookup(sources))


def validate_rule(
    field: KickoffField, rule: FieldRule | None, sources: Sequence[Answer]
) -> list[Problem]:
    """What is wrong with one kick-off field's rule (None: left empty), as one builder row
    shows it."""
    if rule is None:
        return _required_problems([field], covered=set())
    found, covers = _field_problems(field, rule, answer_index(sources), _lookup(sources))
    return found + _required_problems([field], covered={field.id} if covers else set())


def _lookup(sources: Sequence[Answer]) -> PlaceholderLookup:
    # No submission yet: every context key the delivery pipeline may pass counts as known.
    return PlaceholderLookup(sources, CONTEXT_PLACEHOLDERS)


def _rules_problems(
    rules: Sequence[FieldRule],
    fields: Sequence[KickoffField],
    sources: Sequence[Answer],
    lookup: PlaceholderLookup,
) -> list[Problem]:
    by_key = answer_index(sources)
    by_id = {f.id: f for f in fields}
    problems: list[Problem] = []
    covered: set[str] = set()
    seen: set[str] = set()
    for rule in rules:
        f = by_id.get(rule.target_field_id)
        if f is None:
            problems.append(unknown_target(rule, fields))
            continue
        if f.id in seen:
            problems.append(field_problem(f, DUPLICATE, f"{f.label} is mapped twice."))
            continue
        seen.add(f.id)
        found, covers = _field_problems(f, rule, by_key, lookup)
        problems.extend(found)
        if covers:
            covered.add(f.id)
    return problems + _required_problems(fields, covered)


def _field_problems(
    f: KickoffField, rule: FieldRule, by_key: Mapping[str, Answer], lookup: PlaceholderLookup
) -> tuple[list[Problem], bool]:
    """The rule's problems, and whether it can give the field a value at all."""
    found = _check_rule(f, rule, by_key, lookup)
    empty_constant = rule.source == "constant" and rule.constant is None
    unfillable = empty_constant or any(p.code in (UNKNOWN_SOURCE, INVALID) for p in found)
    return found, rule.default is not None or not unfillable


def _required_problems(fields: Sequence[KickoffField], covered: set[str]) -> list[Problem]:
    return [
        field_problem(
            f, REQUIRED, f"{f.label} is required: map a Tally field, a constant or a default."
        )
        for f in fields
        if f.required and f.id not in covered
    ]


def _check_rule(
    f: KickoffField, rule: FieldRule, by_key: Mapping[str, Answer], lookup: PlaceholderLookup
) -> list[Problem]:
    problems: list[Problem] = []
    for tally, target in rule.option_map.items():
        if find_option(target, f.options) is None:
            problems.append(
                field_problem(
                    f,
                    UNKNOWN_OPTION,
                    f"{f.label}: the option map sends {tally!r} to {target!r}, which is gone.",
                )
            )
    if rule.default is not None:
        problems.extend(_dry_run(f, rule, rule.default, "default"))
    if rule.source == "constant":
        if rule.constant is not None:
            problems.extend(_dry_run(f, rule, rule.constant, "constant"))
    elif rule.source == "template":
        problems.extend(unknown_placeholders(f.id, f.label, rule.template, lookup))
    elif rule.source == "field":
        source = by_key.get(rule.source_key)
        if not rule.source_key:
            problems.append(field_problem(f, INVALID, f"{f.label}: no Tally field chosen."))
        elif source is None:
            problems.append(
                field_problem(
                    f,
                    UNKNOWN_SOURCE,
                    f"{f.label}: Tally field {rule.source_key!r} is no longer in the form.",
                )
            )
        elif not is_compatible(f.field_type, source):
            problems.append(
                field_problem(
                    f,
                    INCOMPATIBLE,
                    f"{f.label}: a Tally {source.type} can't fill a Tallyfy {f.field_type} field.",
                )
            )
        elif f.field_type in _CHOICE_TARGETS and source.is_choice and not source.options:
            # Never "Fits" on a guess: every submission would carry options nothing maps.
            problems.append(
                field_problem(
                    f,
                    OPTIONS_UNKNOWN,
                    f"{f.label}: Options unknown — submit the form once, or set a constant.",
                )
            )
        elif f.field_type in _CHOICE_TARGETS and source.options and not problems:
            missing = [
                o.text
                for o in source.options
                if resolve_option(o.id, o.text, f.options, rule.option_map) is None
            ]
            if missing:
                listed = ", ".join(repr(m) for m in missing)
                problems.append(
                    field_problem(
                        f,
                        UNMATCHED_OPTION,
                        f"{f.label}: Tally option(s) {listed} match no Tallyfy option; map them.",
                    )
                )
    else:
        problems.append(
            field_problem(f, INVALID, f"{f.label}: unknown rule source {rule.source!r}.")
        )
    return problems


def _dry_run(f: KickoffField, rule: FieldRule, value: Any, what: str) -> list[Problem]:
    _, found = encode_value(f, constant_answer(f.label, "CONSTANT", value), rule)
    return [
        Problem(p.field_id, p.label, p.code, f"{p.message} (the {what})")
        for p in found
        if p.blocking
    ]
