"""Form-field values, as Tallyfy accepts them (docs/vendor-notes.md, "Launch").

One function checks a value against a field definition (a kick-off field or a task field,
both `{id, label, field_type, options, columns, ...}` dicts) and returns an error message
or None. Option text is compared exactly: Tallyfy does not trim or case-fold.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

TEXT_MAX = 200
TEXTAREA_MAX = 30_000
# Tallyfy dates are ISO 8601 UTC with milliseconds: 2025-03-01T09:30:00.000Z
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_empty(value: Any) -> bool:
    """Whether a value counts as "not filled in" for a required field (Laravel's `required`)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict) and not value:
        return True
    if isinstance(value, dict) and {"users", "guests", "groups"} & value.keys():
        return not any(value.get(k) for k in ("users", "guests", "groups"))
    return False


def _valid_email(value: Any) -> bool:
    """Whether `value` is an email address."""
    if not isinstance(value, str):
        return False
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _valid_url(value: Any) -> bool:
    """Whether `value` is an http(s) URL."""
    if not isinstance(value, str):
        return False
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return False
    return True


def parse_date(value: str) -> datetime | None:
    """A Tallyfy date (`…T…:…:….000Z`) as a datetime, or None."""
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return datetime.strptime(value, DATE_FORMAT)
    except ValueError:
        return None


# Task deadlines, one format per `deadline_format` switch value: (as the message writes it,
# pattern, strptime formats). ISO may leave out the milliseconds, as the launch doc does.
DEADLINE_FORMATS: dict[str, tuple[str, re.Pattern, tuple[str, ...]]] = {
    "iso": (
        "YYYY-MM-DDTHH:MM:SS.000Z",
        re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$"),
        ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"),
    ),
    "space": (
        "YYYY-MM-DD HH:MM:SS",
        re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"),
        ("%Y-%m-%d %H:%M:%S",),
    ),
}


def _parse_deadline_as(value: Any, fmt: str) -> datetime | None:
    """`value` read in one deadline format, or None."""
    _, pattern, formats = DEADLINE_FORMATS[fmt]
    if not isinstance(value, str) or not pattern.match(value):
        return None
    for layout in formats:
        try:
            return datetime.strptime(value, layout)
        except ValueError:
            continue
    return None


def parse_deadline(value: Any) -> datetime | None:
    """A stored deadline (either format) as a naive UTC datetime, or None."""
    return _parse_deadline_as(value, "iso") or _parse_deadline_as(value, "space")


def deadline_problem(value: Any, fmt: str) -> str | None:
    """What is wrong with a task deadline under format `fmt`, or None (null = no deadline)."""
    if value is None or _parse_deadline_as(value, fmt) is not None:
        return None
    return f"The deadline must be a date in the format {DEADLINE_FORMATS[fmt][0]} (UTC)."


def _option(field: dict, option_id: Any) -> dict | None:
    """The field's option with this id, or None."""
    return next((o for o in field.get("options", []) if o["id"] == option_id), None)


def table_cells(field: dict, value: list) -> list[list[str]] | None:
    """The table's cells as one list per column (column order), or None when malformed.

    The notes only say "a list with exactly one entry per column". Entries may be a cell
    (string/number, one row), a list of cells (the column's rows), or an object naming its
    column by `id` or `label` with the cell(s) under `value`.
    """
    columns = field.get("columns", [])
    if not isinstance(value, list) or len(value) != len(columns):
        return None
    by_column: dict[int, list[str]] = {}
    for position, entry in enumerate(value):
        index = position
        cells: Any = entry
        if isinstance(entry, dict):
            matches = [
                i
                for i, c in enumerate(columns)
                if ("id" in entry and entry["id"] == c["id"])
                or ("id" not in entry and entry.get("label") == c["label"])
            ]
            if len(matches) != 1 or "value" not in entry:
                return None
            index, cells = matches[0], entry["value"]
        if index in by_column:
            return None  # the same column twice
        if cells is None:
            cells = []
        if not isinstance(cells, list):
            cells = [cells]
        if not all(isinstance(c, str | int | float) and not isinstance(c, bool) for c in cells):
            return None
        by_column[index] = [str(c) for c in cells]
    return [by_column[i] for i in range(len(columns))]


def flat_cells(field: dict, value: Any) -> list[str] | None:
    """The table's cells when `value` is a flat list of strings, one per column, else None.

    The notes' source gives this one example: `["Widget", "3"]`.
    """
    columns = field.get("columns", [])
    if not isinstance(value, list) or len(value) != len(columns):
        return None
    if not all(isinstance(cell, str) for cell in value):
        return None
    return list(value)


def check_value(
    field: dict,
    value: Any,
    *,
    users: set[int],
    groups: set[str],
    table_shape: str = "strict",
) -> str | None:
    """The error for `value` in `field`, or None when Tallyfy would accept it.

    Empty values are left to the required check; this only judges the shape of a value.
    `table_shape` "strict" (the default) takes tables only as the notes' source shows them.
    """
    label = field["label"]
    kind = field["field_type"]
    if value is None:
        return None
    if kind in ("text", "textarea", "email"):
        if not isinstance(value, str):
            return f"{label} must be a string."
        limit = TEXT_MAX if kind == "text" else TEXTAREA_MAX
        if kind != "email" and len(value) > limit:
            return f"{label} may not be greater than {limit} characters."
        if kind == "email" and value.strip() and not _valid_email(value):
            return f"{label} must be a valid email address."
        return None
    if kind == "date":
        if parse_date(value) is None:
            return f"{label} must be a date in the format YYYY-MM-DDTHH:MM:SS.000Z."
        return None
    if kind == "radio":
        if not isinstance(value, str):
            return f"{label} must be the text of one of its options."
        if value and value not in {o["text"] for o in field.get("options", [])}:
            return f"The selected {label} is invalid."
        return None
    if kind == "dropdown":
        if not isinstance(value, dict) or not is_int(value.get("id")):
            return f'{label} must be an object {{"id": <int>, "text": "<option text>"}}.'
        option = _option(field, value["id"])
        if option is None or value.get("text") != option["text"]:
            return f"The selected {label} is invalid."
        return None
    if kind == "multiselect":
        if not isinstance(value, list):
            return f'{label} must be a list of {{"id", "text", "selected": true}}.'
        for item in value:
            if not isinstance(item, dict) or not is_int(item.get("id")):
                return f'{label} must be a list of {{"id", "text", "selected": true}}.'
            option = _option(field, item["id"])
            if option is None or item.get("text") != option["text"]:
                return f"The selected {label} is invalid."
            if "selected" in item and not isinstance(item["selected"], bool):
                return f"{label}: selected must be true or false."
        return None
    if kind == "table" and table_shape == "strict":
        if flat_cells(field, value) is None:
            n = len(field.get("columns", []))
            return f"{label} must be a flat list of strings, exactly one per column ({n})."
        return None
    if kind == "table":
        if table_cells(field, value) is None:
            n = len(field.get("columns", []))
            return f"{label} must be a list with exactly one entry per column ({n})."
        return None
    if kind == "file":
        if not isinstance(value, list):
            return f'{label} must be a list of {{"filename", "source": "url", "url"}}.'
        for item in value:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("filename"), str)
                or not item["filename"]
                or item.get("source") != "url"
                or not _valid_url(item.get("url"))
            ):
                return f'{label} must be a list of {{"filename", "source": "url", "url"}}.'
        return None
    if kind == "assignees_form":
        if not isinstance(value, dict) or set(value) - {"users", "guests", "groups"}:
            return (
                f'{label} must be an object {{"users": [int], "guests": [email], "groups": [id]}}.'
            )
        people = value.get("users", [])
        guests = value.get("guests", [])
        teams = value.get("groups", [])
        if not all(isinstance(v, list) for v in (people, guests, teams)):
            return (
                f'{label} must be an object {{"users": [int], "guests": [email], "groups": [id]}}.'
            )
        if not all(is_int(u) and u in users for u in people):
            return f"{label}: unknown user id."
        if not all(_valid_email(g) for g in guests):
            return f"{label}: guests must be email addresses."
        if not all(isinstance(g, str) and g in groups for g in teams):
            return f"{label}: unknown group id."
        return None
    return f"{label} has an unsupported field type."
