"""Who gets the work: a mapping's people rules -> the launch body's `owner_id`, process-level
`users`/`groups` and each step's `owners`.

Tallyfy's constraints (docs/vendor-notes.md, "Launch"): the owner is one member; the process
takes members and groups but no guests; a step takes guests too, but never guests alone.
An email answer is matched to a member by the organization's directory; with no member it
becomes a guest where the slot takes guests, else a blocking problem. Without a directory
no email is a member.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from integrations.tally.answers import Answer
from integrations.tally.display import display

from .choices import chosen, option_lookup
from .conditions import quoted
from .encoders import is_valid_email
from .rules import (
    GUEST_ONLY,
    INVALID,
    MISSING_SOURCE,
    OWNER,
    PROCESS,
    SEVERAL_OWNERS,
    STEP_PREFIX,
    UNKNOWN_MEMBER,
    UNKNOWN_STEP,
    UNMAPPED_CHOICE,
    Assignee,
    Directory,
    MappingSpec,
    PeopleRule,
    Problem,
)

OWNER_LABEL = "Process owner"
PROCESS_LABEL = "Assignees"
_EMAIL_SPLIT = re.compile(r"[,;\s]+")


@dataclass
class Slot:
    """The assignees one target collects, de-duplicated in order."""

    users: list[int] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the users' names, for problems

    def add_user(self, user_id: int, name: str) -> None:
        if user_id not in self.users:
            self.users.append(user_id)
            self.names.append(name)

    def add_guest(self, email: str) -> None:
        if email.lower() not in (g.lower() for g in self.guests):
            self.guests.append(email)

    def add_group(self, group_id: str) -> None:
        if group_id not in self.groups:
            self.groups.append(group_id)

    def owners(self) -> dict[str, list]:
        return {"users": self.users, "guests": self.guests, "groups": self.groups}

    @property
    def empty(self) -> bool:
        return not (self.users or self.guests or self.groups)


@dataclass
class People:
    """What the people rules put in the launch body."""

    owner_id: int | None = None
    users: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, list]] = field(default_factory=dict)


def target_label(spec: MappingSpec, target: str) -> str:
    """A people target in words: "Process owner", "Assignees" or the step's title."""
    if target == OWNER:
        return OWNER_LABEL
    if target == PROCESS:
        return PROCESS_LABEL
    if target.startswith(STEP_PREFIX):
        return spec.step_title(target.removeprefix(STEP_PREFIX))
    return target


def assign_people(
    spec: MappingSpec,
    index: Mapping[str, Answer],
    directory: Directory | None,
    problems: list[Problem],
) -> People:
    """The owner, process assignees and step owners the rules give for one submission."""
    directory = directory or Directory()
    slots: dict[str, Slot] = {}
    for rule in spec.people:
        label = target_label(spec, rule.target)
        wrong_target = target_problem(spec, rule.target, label)
        if wrong_target is not None:
            problems.append(wrong_target)
            continue
        slot = slots.setdefault(rule.target, Slot())
        for assignee, from_email in _assignees(rule, label, index, directory, problems):
            _place(rule.target, label, slot, assignee, from_email, problems)

    people = People()
    for target, slot in slots.items():
        label = target_label(spec, target)
        if target == OWNER:
            people.owner_id = _owner(slot, problems)
        elif target == PROCESS:
            people.users, people.groups = slot.users, slot.groups
        elif not slot.empty:
            if not (slot.users or slot.groups):
                problems.append(
                    Problem(
                        target,
                        label,
                        GUEST_ONLY,
                        f"Guests can't be the only assignees of {label}: add a member or a group.",
                    )
                )
            people.steps[target.removeprefix(STEP_PREFIX)] = slot.owners()
    return people


def target_problem(spec: MappingSpec, target: str, label: str) -> Problem | None:
    """What is wrong with a people target: not one of the three kinds, or a step the
    template no longer has (a warning: nothing is assigned to it)."""
    step_id = target.removeprefix(STEP_PREFIX)
    if target in (OWNER, PROCESS):
        return None
    if not target.startswith(STEP_PREFIX) or not step_id:
        return Problem(
            target or "people", label or "People", INVALID, f"Unknown target {target!r}."
        )
    if not spec.has_step(step_id):
        return Problem(
            target,
            label,
            UNKNOWN_STEP,
            f"The template has no step {step_id!r} any more: nobody is assigned to it.",
        )
    return None


def _assignees(
    rule: PeopleRule,
    label: str,
    index: Mapping[str, Answer],
    directory: Directory,
    problems: list[Problem],
) -> list[tuple[Assignee, bool]]:
    """The rule's assignees, each with whether it came from an email answer (a guest from
    an email is an unknown member; a constant guest was chosen as such)."""
    if rule.source == "constant":
        return [(a, False) for a in rule.constant]
    if rule.source not in ("email", "choice"):
        problems.append(
            Problem(rule.target, label, INVALID, f"{label}: unknown rule source {rule.source!r}.")
        )
        return []
    answer = index.get(rule.source_key)
    if answer is None:
        problems.append(
            Problem(
                rule.target,
                label,
                MISSING_SOURCE,
                f"{label}: Tally field {rule.source_key!r} is not in this submission.",
            )
        )
        return []
    if rule.source == "email":
        return [(a, True) for a in _from_email(rule, label, answer, directory, problems)]
    found: list[tuple[Assignee, bool]] = []
    for option in chosen(answer):
        row = option_lookup(rule.option_map, option.id, option.text)
        if row is None:
            problems.append(
                Problem(
                    rule.target,
                    label,
                    UNMAPPED_CHOICE,
                    f"{label}: nobody is set for {quoted(option.text)} of "
                    f"{answer.label or answer.key}; add it to the table.",
                )
            )
        else:
            found.extend((a, False) for a in row)
    return found


def _from_email(
    rule: PeopleRule, label: str, answer: Answer, directory: Directory, problems: list[Problem]
) -> list[Assignee]:
    text = display(answer).text or ""
    emails = [e for e in _EMAIL_SPLIT.split(text) if e]
    bad = [e for e in emails if not is_valid_email(e)]
    if bad:
        problems.append(
            Problem(
                rule.target,
                label,
                INVALID,
                f"{label}: {quoted(text.strip())} ({answer.label or answer.key}) "
                "is not an email address.",
            )
        )
        return []
    out = []
    for email in emails:
        member = directory.member_by_email(email)
        if member is None:
            out.append(Assignee("guest", email, email))
        else:
            out.append(Assignee("user", str(member.id), member.name or member.email))
    return out


def _place(
    target: str,
    label: str,
    slot: Slot,
    assignee: Assignee,
    from_email: bool,
    problems: list[Problem],
) -> None:
    """Put one assignee in its slot, or say why the slot can't take it."""
    name = assignee.label or assignee.id
    if assignee.kind == "user":
        try:
            slot.add_user(int(assignee.id), name)
        except ValueError:
            problems.append(
                Problem(
                    target, label, INVALID, f"{label}: {assignee.id!r} is not a Tallyfy member id."
                )
            )
        return
    if assignee.kind == "group" and target != OWNER:
        slot.add_group(assignee.id)
        return
    if assignee.kind == "guest" and target.startswith(STEP_PREFIX):
        slot.add_guest(assignee.id)
        return
    problems.append(_refused(target, label, assignee, from_email))


def _refused(target: str, label: str, assignee: Assignee, from_email: bool) -> Problem:
    name = assignee.label or assignee.id
    if from_email:
        why = (
            "only a member can own a process"
            if target == OWNER
            else "guests can't be assigned to a whole process"
        )
        return Problem(
            target,
            label,
            UNKNOWN_MEMBER,
            f"{label}: {assignee.id} is not a member of the Tallyfy organization; {why}.",
        )
    if assignee.kind not in ("group", "guest"):
        message = f"{label}: unknown kind of assignee {assignee.kind!r} ({name})."
    elif target == OWNER:
        message = f"{label} must be one member, not a {assignee.kind} ({name})."
    else:
        message = f"{label}: guests can't be assigned to a whole process ({name})."
    return Problem(target, label, INVALID, message)


def _owner(slot: Slot, problems: list[Problem]) -> int | None:
    if not slot.users:
        return None
    if len(slot.users) > 1:
        others = ", ".join(slot.names[1:])
        problems.append(
            Problem(
                OWNER,
                OWNER_LABEL,
                SEVERAL_OWNERS,
                f"{OWNER_LABEL}: several members were found; {slot.names[0]} owns the "
                f"process ({others} not).",
            )
        )
    return slot.users[0]
