"""The launch: a submission's answers and a mapping -> the body of Tallyfy's POST /runs.

The kick-off fields are filled by `fill` (blank answers, defaults and required fields are
described there); completing a task (`tasks`) fills its captures the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from integrations.tally.answers import Answer, answer_index
from integrations.tallyfy.shapes import KickoffField

from .choices import rule_tags
from .deadlines import DeadlineFormat, step_deadlines
from .fill import fill_fields
from .marker import reference_line
from .people import assign_people
from .placeholders import render_template, unmatched_placeholders
from .rules import (
    NAME,
    SUMMARY,
    TRUNCATED,
    Directory,
    LaunchPlan,
    MappingSpec,
    Problem,
)
from .text import truncate

NAME_MAX = 550
FALLBACK_NAME = "Tally submission"


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
    prerun = fill_fields(spec.rules, fields, answers, index, context, problems)

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
