"""The engine's shapes: a mapping's rules (`FieldRule`, `MappingSpec`) and what a launch or a
check reports (`Problem`, `LaunchPlan`), with the problem codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from integrations.tallyfy.shapes import KickoffField

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
WARNING_CODES = frozenset(
    {TRUNCATED, JOINED_ROWS, UNKNOWN_FIELD, MISSING_SOURCE, UNKNOWN_PLACEHOLDER}
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
