"""Tallyfy's shapes: the dataclasses its answers are parsed into, and its field parsing.

No HTTP here: the mapping engine and the stored snapshots of a template's kick-off fields
(`MappingVersion.template_fields`) read fields without loading the API client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrations.coerce import as_bool, as_int, as_list, as_str

FIELD_TYPES = (
    "text",
    "textarea",
    "email",
    "date",
    "radio",
    "dropdown",
    "multiselect",
    "table",
    "file",
    "assignees_form",
)


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------


@dataclass
class TallyfyUser:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    full_name: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TallyfyOrganization:
    id: str
    name: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Option:
    id: int | None  # always an int at Tallyfy; None only if it ever sends something else
    text: str


@dataclass
class Column:
    id: int | str
    label: str


@dataclass
class KickoffField:
    """A kick-off (prerun) field; task form fields (captures) have the same shape.

    `id` (32 hex) is the only key Tallyfy accepts in `prerun`/`taskdata`: labels and
    aliases are silently dropped.
    """

    id: str
    alias: str | None
    label: str
    field_type: str
    required: bool
    position: int | None
    options: list[Option] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    guidance: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Step:
    """A template's step: the key of the launch's `tasks` (owners and deadline per step).

    `captures`: its task form fields, None when Tallyfy's answer did not list them;
    `task_type`: "approval" for an approval step.
    """

    id: str
    title: str
    position: int = 0
    task_type: str = field(default="task", compare=False)
    captures: tuple[KickoffField, ...] | None = field(default=None, compare=False, hash=False)

    @property
    def is_approval(self) -> bool:
        return self.task_type == "approval"


@dataclass(frozen=True)
class Member:
    """A member of the organization (a user that can own a process or a task)."""

    id: int
    email: str
    name: str = ""


@dataclass(frozen=True)
class Group:
    id: str
    name: str


@dataclass
class TallyfyTemplate:
    """A template (`checklist`); `prerun` and `steps` are filled by `get_template`.

    `steps` is None when Tallyfy's answer did not list them (the docs don't promise it).
    """

    id: str
    title: str
    summary: str | None = None
    prerun: list[KickoffField] = field(default_factory=list)
    steps: list[Step] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Run:
    """A launched process (`run`)."""

    id: str
    name: str | None
    status: str | None
    prerun: Any  # as Tallyfy echoes it: an object keyed by field id, or a list of fields
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    checklist_id: str | None = None
    summary: str | None = None
    created_at: datetime | None = None


#: Task statuses that mean "done" (Tallyfy writes `completed`; runs say `complete`).
COMPLETED_STATUSES = ("completed", "complete")


@dataclass
class TallyfyTask:
    """A task of a run. `owners` is `{users: [int], guests: [email], groups: [id]}`."""

    id: str
    title: str | None
    status: str | None
    run_id: str | None = None
    step_id: str | None = None
    form_fields: list[KickoffField] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    task_type: str = "task"  # "task", "approval", "expiring", "email", …
    owners: dict[str, list[Any]] = field(default_factory=lambda: parse_owners(None))
    can_complete_only_assignees: bool = False
    position: int | None = None

    @property
    def is_approval(self) -> bool:
        """An approval task is completed with `is_approved: true|false`."""
        return self.task_type == "approval"

    @property
    def is_completed(self) -> bool:
        return (self.status or "").lower() in COMPLETED_STATUSES


# ---------------------------------------------------------------------------------------
# Parsing fields
# ---------------------------------------------------------------------------------------


def parse_option(data: Any) -> Option:
    """A choice option: `{id, text}`, or a bare text."""
    if isinstance(data, dict):
        return Option(id=as_int(data.get("id")), text=as_str(data.get("text")) or "")
    return Option(id=None, text=as_str(data) or "")


def parse_field(data: dict[str, Any]) -> KickoffField:
    """One kick-off or task form field as Tallyfy sends it."""
    return KickoffField(
        id=as_str(data.get("id")) or "",
        alias=as_str(data.get("alias")),
        label=as_str(data.get("label")) or "",
        field_type=as_str(data.get("field_type")) or "",
        required=as_bool(data.get("required")),
        position=as_int(data.get("position")),
        options=[parse_option(o) for o in as_list(data.get("options"))],
        columns=[
            Column(
                id=c.get("id") if isinstance(c.get("id"), int) else str(c.get("id", "")),
                label=as_str(c.get("label")) or "",
            )
            for c in as_list(data.get("columns"))
            if isinstance(c, dict)
        ],
        guidance=as_str(data.get("guidance")),
        raw=data,
    )


def parse_fields(value: Any) -> list[KickoffField]:
    """A list of fields (bare or wrapped in `data`), in position order."""
    fields = [parse_field(f) for f in as_list(value) if isinstance(f, dict)]
    return sorted(fields, key=lambda f: (f.position is None, f.position or 0))


def parse_owners(value: Any) -> dict[str, list[Any]]:
    """`{users, guests, groups}` with all three lists; anything else reads as nobody."""
    value = value if isinstance(value, dict) else {}
    return {k: as_list(value.get(k)) for k in ("users", "guests", "groups")}


def parse_steps(value: Any) -> list[Step] | None:
    """A template's steps (a list, or wrapped in `data`), in position order; None when the
    answer had no steps at all."""
    if isinstance(value, dict):
        value = value.get("data")
    if not isinstance(value, list):
        return None
    steps = [
        Step(
            id=as_str(s.get("id")) or "",
            title=as_str(s.get("title")) or "",
            position=as_int(s.get("position")) or 0,
            task_type=as_str(s.get("task_type")) or "task",
            captures=_step_captures(s),
        )
        for s in value
        if isinstance(s, dict) and as_str(s.get("id"))
    ]
    return sorted(steps, key=lambda s: s.position)


def _step_captures(step: dict[str, Any]) -> tuple[KickoffField, ...] | None:
    """A step's task form fields: `captures` or `form_fields`, a list or wrapped in `data`."""
    for key in ("captures", "form_fields"):
        value = step.get(key)
        if isinstance(value, dict):
            value = value.get("data")
        if isinstance(value, list):
            return tuple(parse_fields(value))
    return None
