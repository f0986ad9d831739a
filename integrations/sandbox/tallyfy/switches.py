"""The sandbox Tallyfy's variant switches: one per point where Tallyfy's sources disagree.

Each switch starts at its setting (environment) and can be flipped from the home page or
`/control/switches`; a flip is a row, stored like faults, so a test can flip one per test
and a reset puts every switch back to its setting. The first value of each switch is the
default: the documented behaviour where the notes give one, else the sandbox's earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .models import Switch


@dataclass(frozen=True)
class Variant:
    """One switch: its name, the setting it starts from, its values and what each means."""

    name: str
    setting: str
    values: tuple[str, ...]
    meanings: tuple[str, ...]
    title: str

    @property
    def default(self) -> str:
        """The first value: the documented behaviour, else the sandbox's earlier one."""
        return self.values[0]


# Docs: neither a runs search `q` nor `summary` at launch is in Tallyfy's launch docs; both
# are seen in SDKs (docs/vendor-notes.md, "Where the sources disagree").
RUNS_SEARCH = Variant(
    "runs_search",
    "SANDBOX_TALLYFY_RUNS_SEARCH",
    ("name_and_summary", "name_only"),
    ("runs ?q= matches the name or the summary", "runs ?q= matches the name only"),
    "Runs search q",
)
SUMMARY = Variant(
    "summary",
    "SANDBOX_TALLYFY_SUMMARY",
    ("kept", "dropped"),
    ("a launch keeps its summary", "a launch silently drops its summary"),
    "Summary at launch",
)
# Docs: "one entry per column"; the source's example is a flat list ["Widget", "3"], so the
# sandbox takes only that unless flipped (docs/vendor-notes.md, "Where the sources disagree").
TABLE_SHAPE = Variant(
    "table_shape",
    "SANDBOX_TALLYFY_TABLE_SHAPE",
    ("strict", "lenient"),
    (
        'table values: only a flat list of strings, one per column (["Widget", "3"])',
        "table values: one entry per column, each a cell, a list of cells or {id|label, value}",
    ),
    "Table values",
)

# Docs: the launch doc's example deadline is ISO `…T…Z`; the tasks doc writes
# `YYYY-MM-DD HH:MM:SS`. Each variant accepts only its own (docs/vendor-notes.md).
DEADLINE_FORMAT = Variant(
    "deadline_format",
    "SANDBOX_TALLYFY_DEADLINE_FORMAT",
    ("iso", "space"),
    (
        "task deadlines only as ISO UTC: YYYY-MM-DDTHH:MM:SS(.000)Z",
        "task deadlines only as YYYY-MM-DD HH:MM:SS (as the tasks doc writes them)",
    ),
    "Task deadline format",
)
# Docs: `with=steps` is how integrators read a template's steps; the template doc does not
# promise them, so the sandbox can answer without a `steps` key.
TEMPLATE_STEPS = Variant(
    "template_steps",
    "SANDBOX_TALLYFY_TEMPLATE_STEPS",
    ("listed", "absent"),
    (
        "a template's answer lists its steps",
        "a template's answer has no steps key",
    ),
    "Template steps",
)

# Docs: a recipe saves task form values one field at a time with POST /tasks/{id}/captures;
# the notes PUT them as `taskdata` on the task. Which one an organization takes is unknown,
# so each variant can answer the other "endpoint not found" (docs/vendor-notes.md).
TASK_VALUES = Variant(
    "task_values",
    "SANDBOX_TALLYFY_TASK_VALUES",
    ("both", "captures_only", "taskdata_only"),
    (
        "task form values saved by POST captures or by PUT taskdata",
        "only POST captures: PUT taskdata answers 404 endpoint not found",
        "only PUT taskdata: POST captures answers 404 endpoint not found",
    ),
    "Task form values",
)

VARIANTS = (RUNS_SEARCH, SUMMARY, TABLE_SHAPE, DEADLINE_FORMAT, TEMPLATE_STEPS, TASK_VALUES)
BY_NAME = {v.name: v for v in VARIANTS}


def current(variant: Variant) -> str:
    """The switch's value now: a flipped row, else its setting, else its default."""
    row = Switch.objects.filter(name=variant.name).values_list("value", flat=True).first()
    if row in variant.values:
        return row
    configured = getattr(settings, variant.setting, variant.default)
    return configured if configured in variant.values else variant.default


def flip(name: str, value: str) -> str | None:
    """Set one switch; the problem with the request, or None."""
    variant = BY_NAME.get(name)
    if variant is None:
        return f"unknown switch {name!r}: one of {', '.join(BY_NAME)}"
    if value not in variant.values:
        return f"{name} must be one of {', '.join(variant.values)}"
    Switch.objects.update_or_create(name=name, defaults={"value": value})
    return None


def clear() -> None:
    """Every switch back to its setting."""
    Switch.objects.all().delete()


def state() -> list[dict]:
    """Every switch with its value, setting, allowed values and their meanings."""
    return [
        {
            "name": v.name,
            "title": v.title,
            "setting": v.setting,
            "value": current(v),
            "default": getattr(settings, v.setting, v.default),
            "values": [
                {"value": x, "meaning": m} for x, m in zip(v.values, v.meanings, strict=True)
            ],
        }
        for v in VARIANTS
    ]
