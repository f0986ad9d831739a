"""Checks of a mapping without a submission: what the builder and "enable" report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from integrations.tally.answers import Answer, answer_index
from integrations.tallyfy.shapes import KickoffField

from .compatibility import is_compatible, sources_of
from .encoders import constant_answer, encode_value
from .options import find_option, resolve_option
from .placeholders import is_known_placeholder, placeholders
from .rules import (
    DUPLICATE,
    INCOMPATIBLE,
    INVALID,
    NAME,
    REQUIRED,
    SUMMARY,
    UNKNOWN_OPTION,
    UNKNOWN_PLACEHOLDER,
    UNKNOWN_SOURCE,
    UNMATCHED_OPTION,
    FieldRule,
    MappingSpec,
    Problem,
    field_problem,
    unknown_target,
)


def validate_spec(
    spec: MappingSpec, fields: Sequence[KickoffField], questions: Iterable[Any]
) -> list[Problem]:
    """What is wrong with a mapping before any submission arrives.

    `questions` are the form's questions (dicts / TallyQuestion) or sample answers. Checks:
    required field with nothing mapped, rule for a field the template no longer has, Tally
    field no longer in the form, type pairs that don't fit, option-map entries pointing to a
    Tallyfy option that no longer exists, Tally options that match no Tallyfy option,
    constants and defaults that can't be sent, unknown placeholders.
    """
    sources = sources_of(questions)
    by_key = answer_index(sources)
    by_id = {f.id: f for f in fields}
    problems: list[Problem] = []
    covered: set[str] = set()
    seen: set[str] = set()
    for rule in spec.rules:
        f = by_id.get(rule.target_field_id)
        if f is None:
            problems.append(unknown_target(rule, fields))
            continue
        if f.id in seen:
            problems.append(field_problem(f, DUPLICATE, f"{f.label} is mapped twice."))
            continue
        seen.add(f.id)
        found = _check_rule(f, rule, by_key, sources)
        problems.extend(found)
        empty_constant = rule.source == "constant" and rule.constant is None
        unfillable = empty_constant or any(p.code in (UNKNOWN_SOURCE, INVALID) for p in found)
        if rule.default is not None or not unfillable:
            covered.add(f.id)
    for f in fields:
        if f.required and f.id not in covered:
            problems.append(
                field_problem(
                    f,
                    REQUIRED,
                    f"{f.label} is required: map a Tally field, a constant or a default.",
                )
            )
    for where, label, template in (
        (NAME, "Process name", spec.name_template),
        (SUMMARY, "Summary", spec.summary_template),
    ):
        for name in placeholders(template):
            if not is_known_placeholder(name, sources):
                problems.append(
                    Problem(
                        where,
                        label,
                        UNKNOWN_PLACEHOLDER,
                        f"{label}: {{{name}}} is not a Tally field key or a unique label.",
                    )
                )
    return problems


def _check_rule(
    f: KickoffField, rule: FieldRule, by_key: Mapping[str, Answer], sources: Sequence[Answer]
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
        for name in placeholders(rule.template):
            if not is_known_placeholder(name, sources):
                problems.append(
                    field_problem(
                        f,
                        UNKNOWN_PLACEHOLDER,
                        f"{f.label}: {{{name}}} is not a Tally field key or a unique label.",
                    )
                )
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
        elif (
            f.field_type in ("radio", "dropdown", "multiselect") and source.options and not problems
        ):
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
