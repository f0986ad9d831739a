"""Checks of a mapping's launch rules without a submission (condition, people, deadlines,
tags): what the builder and "enable" report next to the kick-off fields' problems.

`sources` are the form's questions as empty answers or a sample submission's answers;
`directory` (when given) is the Tallyfy organization's members and groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from integrations.tally.answers import Answer, answer_index

from .choices import unmapped
from .compatibility import is_compatible
from .conditions import NUMBER_OPS, parse_number, quoted
from .deadlines import deadline_label, parse_time_of_day
from .people import target_label, target_problem
from .rules import (
    CONDITION,
    CONDITION_OPS,
    DEADLINE_PREFIX,
    DUPLICATE,
    GUEST_ONLY,
    INCOMPATIBLE,
    INVALID,
    MEMBER_EMAIL,
    OWNER,
    PROCESS,
    STEP_PREFIX,
    TAGS,
    UNKNOWN_MEMBER,
    UNKNOWN_SOURCE,
    UNKNOWN_STEP,
    UNMAPPED_CHOICE,
    UNMAPPED_TAG,
    Assignee,
    Directory,
    MappingSpec,
    PeopleRule,
    Problem,
)

CONDITION_LABEL = "Condition"
TAGS_LABEL = "Tags"


def launch_rule_problems(
    spec: MappingSpec, sources: Sequence[Answer], directory: Directory | None = None
) -> list[Problem]:
    """Everything wrong with the launch rules before any submission arrives."""
    by_key = answer_index(sources)
    return (
        _condition_problems(spec, by_key)
        + _people_problems(spec, by_key, directory)
        + _deadline_problems(spec, by_key)
        + _tag_problems(spec, by_key)
    )


def _source_problem(
    field_id: str, label: str, key: str, by_key: Mapping[str, Answer], name: str = ""
) -> Problem | None:
    """The problem with a rule's Tally question, if it has none or the form lost it. `name`:
    the question's label saved with the rule, if any."""
    if not key:
        return Problem(field_id, label, INVALID, f"{label}: no Tally field chosen.")
    if key not in by_key:
        question = quoted(name) if name else repr(key)
        return Problem(
            field_id,
            label,
            UNKNOWN_SOURCE,
            f"{label}: Tally field {question} is no longer in the form.",
        )
    return None


def _condition_problems(spec: MappingSpec, by_key: Mapping[str, Answer]) -> list[Problem]:
    problems: list[Problem] = []
    for clause in spec.condition.clauses if spec.condition else ():
        missing = _source_problem(
            CONDITION, CONDITION_LABEL, clause.source_key, by_key, clause.label
        )
        source = by_key.get(clause.source_key)
        name = clause.label or (source.label if source else "") or clause.source_key
        words = CONDITION_OPS.get(clause.op, clause.op)
        if missing:
            problems.append(missing)
        elif clause.op not in CONDITION_OPS:
            problems.append(_condition(f"{name}: unknown test {quoted(clause.op)}."))
        elif clause.op == "one_of" and not (
            isinstance(clause.value, list | tuple) and clause.value
        ):
            problems.append(_condition(f"“{name} {words}” needs a list of answers."))
        elif clause.op in NUMBER_OPS and parse_number(clause.value) is None:
            problems.append(
                _condition(f"“{name} {words}” needs a number, not {quoted(clause.value)}.")
            )
    return problems


def _condition(message: str) -> Problem:
    return Problem(CONDITION, CONDITION_LABEL, INVALID, f"{CONDITION_LABEL}: {message}")


def _people_problems(
    spec: MappingSpec, by_key: Mapping[str, Answer], directory: Directory | None
) -> list[Problem]:
    problems: list[Problem] = []
    for rule in spec.people:
        label = target_label(spec, rule.target)
        wrong_target = target_problem(spec, rule.target, label)
        if wrong_target is not None:
            problems.append(wrong_target)
            continue
        problems += _people_rule_problems(rule, label, by_key)
        assignees = [*rule.constant, *(a for row in rule.option_map.values() for a in row)]
        problems += _assignee_problems(rule.target, label, assignees, directory)
    return problems + _guest_only_steps(spec)


def _people_rule_problems(
    rule: PeopleRule, label: str, by_key: Mapping[str, Answer]
) -> list[Problem]:
    if rule.source == "constant":
        return []
    if rule.source not in ("email", "choice"):
        return [Problem(rule.target, label, INVALID, f"{label}: unknown source {rule.source!r}.")]
    missing = _source_problem(rule.target, label, rule.source_key, by_key)
    if missing:
        return [missing]
    source = by_key[rule.source_key]
    question = source.label or source.key
    if rule.source == "email":
        if not is_compatible("email", source):
            return [
                Problem(
                    rule.target,
                    label,
                    INCOMPATIBLE,
                    f"{label}: {question} (a Tally {source.type}) holds no email address.",
                )
            ]
        if rule.target in (OWNER, PROCESS):
            who = "own a process" if rule.target == OWNER else "be assigned to a whole process"
            return [
                Problem(
                    rule.target,
                    label,
                    MEMBER_EMAIL,
                    f"{label}: an address in {question} that is not a member of the Tallyfy "
                    f"organization fails the launch (guests can't {who}).",
                )
            ]
        return []
    if not source.is_choice:
        return [
            Problem(
                rule.target,
                label,
                INCOMPATIBLE,
                f"{label}: {question} is not a choice question (it is a Tally {source.type}).",
            )
        ]
    missing_rows = unmapped(source.options, rule.option_map)
    if missing_rows:
        listed = ", ".join(quoted(t) for t in missing_rows)
        return [
            Problem(
                rule.target,
                label,
                UNMAPPED_CHOICE,
                f"{label}: nobody is set for {listed} of {question}; add them to the table.",
            )
        ]
    return []


def _assignee_problems(
    target: str, label: str, assignees: Sequence[Assignee], directory: Directory | None
) -> list[Problem]:
    problems = []
    member_ids = {str(m.id) for m in directory.members} if directory else set()
    group_ids = {g.id for g in directory.groups} if directory else set()
    for a in dict.fromkeys(assignees):
        name = a.label or a.id
        if a.kind == "user" and not a.id.strip().isdigit():
            message = f"{label}: {a.id!r} is not a Tallyfy member id."
            problems.append(Problem(target, label, INVALID, message))
        elif target == OWNER and a.kind != "user":
            message = f"{label} must be one member, not a {a.kind} ({name})."
            problems.append(Problem(target, label, INVALID, message))
        elif target == PROCESS and a.kind == "guest":
            message = f"{label}: guests can't be assigned to a whole process ({name})."
            problems.append(Problem(target, label, INVALID, message))
        elif a.kind not in ("user", "group", "guest"):
            message = f"{label}: unknown kind of assignee {a.kind!r} ({name})."
            problems.append(Problem(target, label, INVALID, message))
        elif directory is not None and (
            (a.kind == "user" and a.id.strip() not in member_ids)
            or (a.kind == "group" and a.id not in group_ids)
        ):
            what = "member" if a.kind == "user" else "group"
            message = f"{label}: the {what} {name} is not in the Tallyfy organization any more."
            problems.append(Problem(target, label, UNKNOWN_MEMBER, message))
    return problems


def _guest_only_steps(spec: MappingSpec) -> list[Problem]:
    """Steps whose rules are all constants naming guests only: Tallyfy refuses them."""
    by_step: dict[str, list[PeopleRule]] = {}
    for rule in spec.people:
        if rule.target.startswith(STEP_PREFIX) and spec.has_step(
            rule.target.removeprefix(STEP_PREFIX)
        ):
            by_step.setdefault(rule.target, []).append(rule)
    problems = []
    for target, rules in by_step.items():
        kinds = {a.kind for r in rules for a in r.constant}
        if all(r.source == "constant" for r in rules) and kinds == {"guest"}:
            label = target_label(spec, target)
            problems.append(
                Problem(
                    target,
                    label,
                    GUEST_ONLY,
                    f"Guests can't be the only assignees of {label}: add a member or a group.",
                )
            )
    return problems


def _deadline_problems(spec: MappingSpec, by_key: Mapping[str, Answer]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for rule in spec.deadlines:
        field_id, label = f"{DEADLINE_PREFIX}{rule.step_id}", deadline_label(spec, rule.step_id)

        def add(code: str, message: str, field_id: str = field_id, label: str = label) -> None:
            problems.append(Problem(field_id, label, code, message))

        if not spec.has_step(rule.step_id):
            add(
                UNKNOWN_STEP,
                f"The template has no step {rule.step_id!r} any more: no deadline is sent.",
            )
            continue
        if rule.step_id in seen:
            add(DUPLICATE, f"{label} is set twice; the first is used.")
            continue
        seen.add(rule.step_id)
        if rule.source == "submitted":
            continue
        if rule.source != "answer":
            add(INVALID, f"{label}: unknown deadline source {rule.source!r}.")
            continue
        if parse_time_of_day(rule.time_of_day) is None:
            add(INVALID, f"{label}: the time of day {quoted(rule.time_of_day)} is not HH:MM.")
        missing = _source_problem(field_id, label, rule.source_key, by_key)
        source = by_key.get(rule.source_key)
        if missing:
            problems.append(missing)
        elif source is not None and not is_compatible("date", source):
            question = source.label or source.key
            add(INCOMPATIBLE, f"{label}: {question} (a Tally {source.type}) holds no date.")
    return problems


def _tag_problems(spec: MappingSpec, by_key: Mapping[str, Answer]) -> list[Problem]:
    problems: list[Problem] = []
    for rule in spec.tag_rules:
        missing = _source_problem(TAGS, TAGS_LABEL, rule.source_key, by_key)
        if missing:
            problems.append(missing)
            continue
        source = by_key[rule.source_key]
        question = source.label or source.key
        if not source.is_choice:
            message = f"Tags: {question} is not a choice question (it is a Tally {source.type})."
            problems.append(Problem(TAGS, TAGS_LABEL, INCOMPATIBLE, message))
            continue
        missing_rows = unmapped(source.options, rule.option_map)
        if missing_rows:
            listed = ", ".join(quoted(t) for t in missing_rows)
            message = f"Tags: no tag is set for {listed} of {question}."
            problems.append(Problem(TAGS, TAGS_LABEL, UNMAPPED_TAG, message))
    return problems
