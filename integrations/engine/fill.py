"""Filling Tallyfy form fields from a mapping's rules: a launch's kick-off fields and a
task's captures (same shape, same rules, same value encoders).

Blank answers: `None`, an empty list/object, or a blank string for a non-text field count
as "no answer": the rule's `default` is used, else the key is left out (Tallyfy leaves the
field empty). Strings are sent as typed to text/textarea/email fields, even `""`; `0` and
`False` are always answers ("0", "No" as text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrations.tally.answers import Answer, is_blank
from integrations.tallyfy.shapes import KickoffField

from .encoders import SKIP, STRING_FIELDS, constant_answer, encode_value, is_empty
from .placeholders import render_template, unmatched_placeholders
from .rules import (
    DUPLICATE,
    INVALID,
    MISSING_SOURCE,
    REQUIRED,
    FieldRule,
    Problem,
    field_problem,
    unknown_target,
)


def fill_fields(
    rules: Sequence[FieldRule],
    fields: Sequence[KickoffField],
    answers: Sequence[Answer],
    index: Mapping[str, Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> dict[str, Any]:
    """The values of `fields` by field id, in field order, appending what went wrong to
    `problems`: rules for unknown or twice-mapped fields first, then each field's own."""
    by_id = {f.id: f for f in fields}
    chosen: dict[str, FieldRule] = {}
    for rule in rules:
        if rule.target_field_id not in by_id:
            problems.append(unknown_target(rule, fields))
        elif rule.target_field_id in chosen:
            f = by_id[rule.target_field_id]
            problems.append(
                field_problem(f, DUPLICATE, f"{f.label} is mapped twice; the first rule is used.")
            )
        else:
            chosen[rule.target_field_id] = rule

    values: dict[str, Any] = {}
    for f in fields:
        rule = chosen.get(f.id)
        value = SKIP if rule is None else fill_field(f, rule, answers, index, context, problems)
        if value is not SKIP:
            # Keyed by the field id: Tallyfy drops label or alias keys without a word.
            values[f.id] = value
        already = any(p.field_id == f.id and p.blocking for p in problems)
        if f.required and is_empty(value) and not already:
            # Mirrors Tallyfy's 422, the most common launch failure by far.
            problems.append(field_problem(f, REQUIRED, f"{f.label} is required"))
    return values


def fill_field(
    f: KickoffField,
    rule: FieldRule,
    answers: Sequence[Answer],
    index: Mapping[str, Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> Any:
    """The value for one field (or SKIP), appending what went wrong to `problems`."""
    source = _rule_source(f, rule, answers, index, context, problems)
    keeps_string = (
        source is not None and isinstance(source.value, str) and f.field_type in STRING_FIELDS
    )
    if (source is None or is_blank(source.value)) and rule.default is not None:
        source = constant_answer(f.label, "CONSTANT", rule.default)
    elif source is None or (is_blank(source.value) and not keeps_string):
        return SKIP
    value, found = encode_value(f, source, rule)
    problems.extend(found)
    return value


def _rule_source(
    f: KickoffField,
    rule: FieldRule,
    answers: Sequence[Answer],
    index: Mapping[str, Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> Answer | None:
    if rule.source == "constant":
        return constant_answer(f.label, "CONSTANT", rule.constant)
    if rule.source == "template":
        text, unknown = render_template(rule.template, answers, context)
        problems.extend(unmatched_placeholders(f.id, f.label, unknown))
        return constant_answer(f.label, "TEMPLATE", text)
    if rule.source != "field":
        problems.append(
            field_problem(f, INVALID, f"{f.label}: unknown rule source {rule.source!r}.")
        )
        return None
    source = index.get(rule.source_key)
    if source is None:
        problems.append(
            field_problem(
                f,
                MISSING_SOURCE,
                f"{f.label}: Tally field {rule.source_key!r} is not in this submission.",
            )
        )
    return source
