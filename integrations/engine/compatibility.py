"""Which Tally answers fit which kind of kick-off field."""

from __future__ import annotations

from collections.abc import Sequence

from integrations.tally.answers import (
    CHOICE_TYPES,
    FILE_TYPES,
    NUMBER_TYPES,
    VARIABLE_TYPES,
    Answer,
)
from integrations.tallyfy.shapes import KickoffField

_TEXTLIKE = frozenset(
    {
        "INPUT_TEXT",
        "INPUT_EMAIL",
        "INPUT_PHONE_NUMBER",
        "INPUT_LINK",
        "INPUT_NUMBER",
        "RATING",
        "LINEAR_SCALE",
        "INPUT_DATE",
        "INPUT_TIME",
        "TEXTAREA",
        *CHOICE_TYPES,
        *VARIABLE_TYPES,
        "PAYMENT",
    }
)
_SINGLE_OPTION_SOURCES = frozenset(
    {"MULTIPLE_CHOICE", "DROPDOWN", "INPUT_TEXT", *VARIABLE_TYPES, *NUMBER_TYPES}
)

COMPATIBLE: dict[str, frozenset[str]] = {
    "text": _TEXTLIKE,
    # Long text also takes what only reads well on several lines.
    "textarea": _TEXTLIKE | {"MATRIX", *FILE_TYPES},
    "email": frozenset({"INPUT_EMAIL", "INPUT_TEXT", *VARIABLE_TYPES, "PAYMENT"}),
    "date": frozenset({"INPUT_DATE", "INPUT_TEXT", *VARIABLE_TYPES}),
    "radio": _SINGLE_OPTION_SOURCES,
    "dropdown": _SINGLE_OPTION_SOURCES,
    "multiselect": frozenset(
        {"MULTI_SELECT", "CHECKBOXES", "RANKING", "MULTIPLE_CHOICE", "DROPDOWN"}
    ),
    "table": frozenset({"MATRIX"}),
    "file": frozenset(FILE_TYPES),
    # Emails become guests: Tally knows nothing of Tallyfy's member or group ids.
    "assignees_form": frozenset({"INPUT_EMAIL", "INPUT_TEXT", "HIDDEN_FIELDS", "PAYMENT"}),
}
# Of a PAYMENT's five fields, only `<key>_email` is an email address.
_PAYMENT_PARTS_FOR: dict[str, frozenset[str]] = {
    "email": frozenset({"email"}),
    "assignees_form": frozenset({"email"}),
}


def is_compatible(field_type: str, source: Answer) -> bool:
    """Whether answers like `source` can fill a `field_type` kick-off field."""
    if source.type not in COMPATIBLE.get(field_type, frozenset()):
        return False
    parts = _PAYMENT_PARTS_FOR.get(field_type)
    return source.type != "PAYMENT" or parts is None or source.payment_part in parts


def compatible_sources(kickoff_field: KickoffField, sources: Sequence[Answer]) -> list[Answer]:
    """The Tally inputs (a submission's answers, or a form's questions as empty answers) that
    can fill `kickoff_field`, in form order."""
    return [s for s in sources if is_compatible(kickoff_field.field_type, s)]
