"""The launch: a submission's answers and a mapping -> the body of Tallyfy's POST /runs.

Blank answers: `None`, an empty list/object, or a blank string for a non-text field count
as "no answer": the rule's `default` is used, else the key is left out (Tallyfy leaves the
field empty). Strings are sent as typed to text/textarea/email fields, even `""`; `0` and
`False` are always answers ("0", "No" as text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from integrations.tally.answers import Answer, answer_index, is_blank
from integrations.tallyfy.shapes import KickoffField

from .choices import rule_tags
from .deadlines import DeadlineFormat, step_deadlines
from .encoders import SKIP, STRING_FIELDS, constant_answer, encode_value, is_empty
from .marker import reference_line
from .people import assign_people
from .placeholders import render_template, unmatched_placeholders
from .rules import (
    DUPLICATE,
    INVALID,
    MISSING_SOURCE,
    NAME,
    REQUIRED,
    SUMMARY,
    TRUNCATED,
    Directory,
    FieldRule,
    LaunchPlan,
    MappingSpec,
    Problem,
    field_problem,
    unknown_target,
)
from .text import truncate

NAME_MAX = 550
FALLBACK_NAME = "Tally submission"


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


def _fill_field(
    f: KickoffField,
    rule: FieldRule,
    answers: Sequence[Answer],
    index: Mapping[str, Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> Any:
    """The prerun value for one field (or SKIP), appending what went wrong to `problems`."""
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


def build_launch(
    spec: MappingSpec,
    answers: Sequence[Answer],
    fields: Sequence[KickoffField],
    *,
    context: Mapping[str, Any] | None = None,
    directory: Directory | None = None,
    now: datetime | None = None,
    deadline_format: DeadlineFormat = "iso",
) -> LaunchPlan:
    """The Tallyfy launch body for one submission, and every problem found on the way.

    Never raises on odd answers: anything Kickoff cannot send becomes a `Problem`. A launch
    with a blocking problem must not be sent; `body` is still complete so the operator sees
    what would go out. `context` fills the extra placeholders (`CONTEXT_PLACEHOLDERS`) and
    gives `submitted_at` to deadlines. The launch rules (`spec.people`, `deadlines`,
    `tag_rules`) need `directory` to match emails to members (none: no email is a member)
    and `now` to warn of deadlines in the past. Whether the mapping takes the submission at
    all (`spec.condition`) is `route`'s business, not this function's.
    """
    context = context or {}
    answers = list(answers)
    index = answer_index(answers)
    problems: list[Problem] = []
    by_id = {f.id: f for f in fields}
    rules: dict[str, FieldRule] = {}
    for rule in spec.rules:
        if rule.target_field_id not in by_id:
            problems.append(unknown_target(rule, fields))
        elif rule.target_field_id in rules:
            f = by_id[rule.target_field_id]
            problems.append(
                field_problem(f, DUPLICATE, f"{f.label} is mapped twice; the first rule is used.")
            )
        else:
            rules[rule.target_field_id] = rule

    prerun: dict[str, Any] = {}
    for f in fields:
        rule = rules.get(f.id)
        value = SKIP if rule is None else _fill_field(f, rule, answers, index, context, problems)
        if value is not SKIP:
            # Keyed by the field id: Tallyfy drops label or alias keys without a word.
            prerun[f.id] = value
        already = any(p.field_id == f.id and p.blocking for p in problems)
        if f.required and is_empty(value) and not already:
            # Mirrors Tallyfy's 422, the most common launch failure by far.
            problems.append(field_problem(f, REQUIRED, f"{f.label} is required"))

    body: dict[str, Any] = {
        "checklist_id": spec.checklist_id,
        "name": _name(spec, answers, context, problems),
    }
    summary = _summary(spec, answers, context, problems)
    if summary:
        body["summary"] = summary
    body["prerun"] = prerun
    tags = rule_tags(spec, index, problems) if spec.tag_rules else list(spec.tags)
    if tags:
        body["tags"] = tags
    if spec.folders:
        body["folders"] = list(spec.folders)
    people = assign_people(spec, index, directory, problems)
    owner_id = people.owner_id if people.owner_id is not None else spec.owner_id
    if owner_id is not None:
        body["owner_id"] = owner_id
    if people.users:
        body["users"] = people.users
    if people.groups:
        body["groups"] = people.groups
    deadlines = step_deadlines(
        spec, index, context, problems, now=now, deadline_format=deadline_format
    )
    tasks = _tasks(deadlines, people.steps)
    if tasks:
        body["tasks"] = tasks
    return LaunchPlan(body=body, problems=problems)


def _tasks(
    deadlines: Mapping[str, str], owners: Mapping[str, dict[str, list]]
) -> dict[str, dict[str, Any]]:
    """`tasks` of the launch body: `{step id: {deadline?, owners?}}`, in rule order."""
    tasks: dict[str, dict[str, Any]] = {}
    for step_id, deadline in deadlines.items():
        tasks.setdefault(step_id, {})["deadline"] = deadline
    for step_id, step_owners in owners.items():
        tasks.setdefault(step_id, {})["owners"] = step_owners
    return tasks


def _name(
    spec: MappingSpec,
    answers: Sequence[Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> str:
    text, unknown = render_template(spec.name_template, answers, context)
    problems.extend(unmatched_placeholders(NAME, "Process name", unknown))
    name = " ".join(text.split()) or FALLBACK_NAME  # Tallyfy requires a name, on one line
    if len(name) > NAME_MAX:
        problems.append(
            Problem(
                NAME,
                "Process name",
                TRUNCATED,
                f"Process name was cut to {NAME_MAX} characters (it had {len(name)}).",
            )
        )
        name = truncate(name, NAME_MAX)
    return name


def _summary(
    spec: MappingSpec,
    answers: Sequence[Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> str:
    text, unknown = render_template(spec.summary_template, answers, context)
    problems.extend(unmatched_placeholders(SUMMARY, "Summary", unknown))
    lines = [text.rstrip()] if text.strip() else []
    if spec.marker:
        lines.append(reference_line(spec.marker))
    return "\n\n".join(lines)
