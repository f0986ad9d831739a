"""The engine's shapes: a mapping's rules (`FieldRule`, `MappingSpec`) and what a launch or a
check reports (`Problem`, `LaunchPlan`), with the problem codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from integrations.tallyfy.shapes import Group, KickoffField, Member, Step

# Problem codes. Blocking ones stop a launch (Tallyfy would refuse it or lose data);
# warnings are shown to the operator and the launch goes ahead.
REQUIRED = "required"
UNMATCHED_OPTION = "unmatched_option"
INVALID = "invalid"
INCOMPATIBLE = "incompatible"
UNKNOWN_SOURCE = "unknown_source"
UNKNOWN_OPTION = "unknown_option"
DUPLICATE = "duplicate"
TRUNCATED = "truncated"
JOINED_ROWS = "joined_rows"
UNKNOWN_FIELD = "unknown_field"
MISSING_SOURCE = "missing_source"
UNKNOWN_PLACEHOLDER = "unknown_placeholder"
# A choice whose options no source names (not the form's blocks, its questions, nor a
# stored webhook payload): any option it sends would match nothing.
OPTIONS_UNKNOWN = "options_unknown"
PAST_DEADLINE = "past_deadline"  # a step deadline before the launch
UNKNOWN_STEP = "unknown_step"  # a rule for a step the template no longer has: nothing is sent
SEVERAL_OWNERS = "several_owners"  # the owner rules found several members: the first owns it
UNMAPPED_TAG = "unmapped_tag"  # a choice option the tag table has no row for: no tag for it
MEMBER_EMAIL = "member_email"  # owner/process from an email answer: a non-member fails the launch
# Approval checks: an approve/reject entry no option of the question has (it never matches),
# and an option of the question in neither list (choosing it fails the completion).
UNKNOWN_DECISION = "unknown_decision"
UNDECIDED_OPTION = "undecided_option"
WARNING_CODES = frozenset(
    {
        TRUNCATED,
        JOINED_ROWS,
        UNKNOWN_FIELD,
        MISSING_SOURCE,
        UNKNOWN_PLACEHOLDER,
        PAST_DEADLINE,
        UNKNOWN_STEP,
        SEVERAL_OWNERS,
        UNMAPPED_TAG,
        MEMBER_EMAIL,
        UNKNOWN_DECISION,
        UNDECIDED_OPTION,
    }
)

# Pseudo field ids for problems with the process name and summary (Tallyfy ids are 32 hex).
NAME = "name"
SUMMARY = "summary"

Source = Literal["field", "constant", "template"]


@dataclass(frozen=True)
class FieldRule:
    """How one kick-off field gets its value.

    `source="field"`: from the Tally answer keyed `source_key`; `"constant"`: `constant`;
    `"template"`: `template` rendered with placeholders. `option_map` maps a Tally option
    id or text to a Tallyfy option text and wins over automatic matching. `default` is used
    when the answer is blank.
    """

    target_field_id: str
    source: Source = "field"
    source_key: str = ""
    constant: Any = None
    template: str = ""
    option_map: Mapping[str, str] = field(default_factory=dict)
    default: Any = None


@dataclass(frozen=True)
class MappingSpec:
    """One mapping version, as the engine needs it."""

    checklist_id: str
    name_template: str
    rules: tuple[FieldRule, ...]
    summary_template: str = ""
    tags: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    owner_id: int | None = None
    marker: str = ""
    # Launch rules (all optional): whether to take a submission at all, who gets the work,
    # by when, and tags from answers. `steps`: the template's steps when the version was
    # saved (labels for problems).
    condition: Condition | None = None
    otherwise: bool = False
    people: tuple[PeopleRule, ...] = ()
    deadlines: tuple[DeadlineRule, ...] = ()
    tag_rules: tuple[TagRule, ...] = ()
    steps: tuple[Step, ...] = ()
    # "Complete a task" mappings of an approval step: which answer approves.
    approval: ApprovalRule | None = None

    def has_step(self, step_id: str) -> bool:
        """Whether rules may target `step_id`: any step when the steps are not known."""
        return not self.steps or any(s.id == step_id for s in self.steps)

    def step_title(self, step_id: str) -> str:
        """The step's title for problems (its id when unknown or untitled)."""
        return next((s.title for s in self.steps if s.id == step_id and s.title), step_id)


@dataclass(frozen=True)
class Problem:
    """Something wrong with one kick-off field (or `name`/`summary`), in words for people."""

    field_id: str
    label: str
    code: str
    message: str

    @property
    def blocking(self) -> bool:
        return self.code not in WARNING_CODES

    @property
    def severity(self) -> str:
        return "error" if self.blocking else "warning"


@dataclass
class LaunchPlan:
    """`body` is exactly what to POST to `/organizations/{org}/runs`."""

    body: dict[str, Any]
    problems: list[Problem]

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]

    @property
    def ok(self) -> bool:
        """Whether the launch may be sent (warnings allowed)."""
        return not self.blocking


def field_problem(f: KickoffField, code: str, message: str) -> Problem:
    """A problem with kick-off field `f`."""
    return Problem(field_id=f.id, label=f.label, code=code, message=message)


def unknown_target(rule: FieldRule, fields: Sequence[KickoffField]) -> Problem:
    """The warning for a rule whose kick-off field the template does not have (by id)."""
    named = next((f for f in fields if rule.target_field_id in (f.label, f.alias)), None)
    hint = (
        f" It names {named.label!r} by label or alias; Tallyfy only accepts the field id."
        if named
        else ""
    )
    return Problem(
        rule.target_field_id,
        rule.target_field_id,
        UNKNOWN_FIELD,
        f"The template has no kick-off field {rule.target_field_id!r}: nothing is sent.{hint}",
    )


# --- Launch rules: conditions, people, deadlines, tags (issue "Launch rules") -------------

# Problem codes of the launch rules. Pseudo field ids: `owner`, `process`, `step:<id>`,
# `deadline:<step id>`, `tags`, `condition`.
UNKNOWN_MEMBER = "unknown_member"  # an email answer matches no Tallyfy member (and no guest slot)
GUEST_ONLY = "guest_only"  # a step would be assigned to guests only: Tallyfy refuses that
UNMAPPED_CHOICE = "unmapped_choice"  # a choice option the people/tag table has no row for
BAD_DEADLINE = "bad_deadline"  # the date answer is not a date
OWNER = "owner"
PROCESS = "process"
TAGS = "tags"
CONDITION = "condition"
STEP_PREFIX = "step:"  # a people target `step:<step id>`, and a problem's field id
DEADLINE_PREFIX = "deadline:"  # a deadline problem's field id: `deadline:<step id>`

#: Condition operators, with the words the builder and the reasons use.
CONDITION_OPS: dict[str, str] = {
    "equals": "is",
    "not_equals": "is not",
    "one_of": "is one of",
    "contains": "contains",
    "is_empty": "is empty",
    "not_empty": "is not empty",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
}


@dataclass(frozen=True)
class Clause:
    """One test over one answer. `value`: a text for equals/not_equals/contains, a list of
    texts for one_of, a number for gt/gte/lt/lte, nothing for is_empty/not_empty. `label`
    is the question's label when the rule was saved (for reasons in words)."""

    source_key: str
    op: str
    value: Any = None
    label: str = ""


@dataclass(frozen=True)
class Condition:
    """Whether a mapping takes a submission: its clauses joined by `all` or `any`.
    No clauses: always."""

    clauses: tuple[Clause, ...] = ()
    join: Literal["all", "any"] = "all"


@dataclass(frozen=True)
class Verdict:
    """A condition's outcome for one submission, and why, one sentence per clause.
    `outcomes`: each clause's own result, in clause order (same length as `reasons`)."""

    matched: bool
    reasons: tuple[str, ...] = ()
    outcomes: tuple[bool, ...] = ()

    @property
    def deciding(self) -> tuple[str, ...]:
        """The reasons that decided the outcome: the failing clauses of a condition that did
        not match, the passing ones of a condition that did."""
        if len(self.outcomes) != len(self.reasons):
            return self.reasons
        pairs = zip(self.reasons, self.outcomes, strict=True)
        return tuple(reason for reason, ok in pairs if ok == self.matched)


@dataclass(frozen=True)
class Assignee:
    """A member (`user`, id is the Tallyfy user id as text), a `group` (its id) or a
    `guest` (an email)."""

    kind: Literal["user", "group", "guest"]
    id: str
    label: str = ""


@dataclass(frozen=True)
class PeopleRule:
    """Who one slot gets. `target`: `owner` (the process owner: one member), `process`
    (process-level users and groups) or `step:<step id>` (that step's owners).

    `source="constant"`: `constant`; `"email"`: the member whose email the answer keyed
    `source_key` holds (no member: a guest where the slot takes guests, else a problem);
    `"choice"`: the chosen option(s) of `source_key` through `option_map` (option id or text
    -> assignees). Several rules for one target add up.
    """

    target: str
    source: Literal["constant", "email", "choice"] = "constant"
    constant: tuple[Assignee, ...] = ()
    source_key: str = ""
    option_map: Mapping[str, tuple[Assignee, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadlineRule:
    """One step's deadline: the date answer `source_key` (`source="answer"`) or the
    submission time (`"submitted"`), plus `offset_days`, at `time_of_day` (HH:MM, UTC) for a
    date answer."""

    step_id: str
    source: Literal["answer", "submitted"] = "answer"
    source_key: str = ""
    offset_days: int = 0
    time_of_day: str = "17:00"


@dataclass(frozen=True)
class TagRule:
    """Tags from a choice answer: option id or text -> Tallyfy tag ids."""

    source_key: str
    option_map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Directory:
    """The Tallyfy organization's members and groups, as the launch needs them (read from
    Tallyfy and cached by `integrations.directory`)."""

    members: tuple[Member, ...] = ()
    groups: tuple[Group, ...] = ()

    def member_by_email(self, email: str) -> Member | None:
        wanted = email.strip().lower()
        return next((m for m in self.members if m.email.strip().lower() == wanted), None)


@dataclass(frozen=True)
class RouteCandidate:
    """One enabled mapping of a form, as routing needs it."""

    mapping_id: int
    name: str
    condition: Condition = Condition()
    otherwise: bool = False


@dataclass(frozen=True)
class Route:
    """Which mappings take one submission, with a reason in words for each mapping."""

    taken: frozenset[int]
    reasons: Mapping[int, str]


# --- Completing a task (issue "Follow-up forms complete Tallyfy tasks") ---------------------

APPROVAL = "approval"  # pseudo field id of the approval decision's problems
UNDECIDED = "undecided"  # no decision: no rule, a blank answer, neither (or both) lists


@dataclass(frozen=True)
class ApprovalRule:
    """An approval step's decision: the answer keyed `source_key` approves when it is one of
    `approve`, rejects when one of `reject` (option texts or ids, compared like options);
    anything else is a problem, never a guess."""

    source_key: str
    approve: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()


@dataclass
class TaskPlan:
    """What completing one task sends: `values` by task field (capture) id, saved one by
    one before the completion, and `is_approved` for an approval step (None otherwise)."""

    values: dict[str, Any]
    is_approved: bool | None
    problems: list[Problem]

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]
