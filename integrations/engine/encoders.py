"""One answer encoded in the value shape each kind of kick-off field wants.

Each field type wants its own shape (radio: bare text, dropdown: `{id, text}`, multiselect:
`[{id, text, selected: true}]`, ...), and option text is compared exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from integrations.tally.answers import (
    CHOICE_TYPES,
    Answer,
    format_scalar,
    is_blank,
    selected_options,
)
from integrations.tally.display import display, files
from integrations.tallyfy.shapes import KickoffField, Option

from .options import resolve_option
from .rules import (
    INVALID,
    JOINED_ROWS,
    TRUNCATED,
    UNMATCHED_OPTION,
    FieldRule,
    Problem,
    field_problem,
)
from .tables import table_rows
from .text import truncate

TEXT_MAX = 200
TEXTAREA_MAX = 30_000


class _Skip:
    """No value: leave the key out of `prerun`."""


SKIP = _Skip()
Encoder = Callable[[KickoffField, Answer, FieldRule, list[Problem]], Any]


def _text_of(source: Answer, *, multiline: bool) -> str | None:
    """An answer as one string: display text, or one line per part for long text."""
    if source.value is None:
        return None
    if isinstance(source.value, str):
        return source.value
    shown = display(source)
    if multiline and shown.links:
        return "\n".join(
            f"{link.name}: {link.url}" if link.url else link.name for link in shown.links
        )
    if multiline and source.type == "MATRIX":
        return "\n".join(shown.items)
    return shown.text


def _encode_text(limit: int, *, multiline: bool) -> Encoder:
    def encode(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
        text = _text_of(source, multiline=multiline)
        if text is None:
            return SKIP
        if len(text) > limit:
            problems.append(
                field_problem(
                    f,
                    TRUNCATED,
                    f"{f.label} was cut to {limit} characters (the answer had {len(text)}).",
                )
            )
            return truncate(text, limit)
        return text

    return encode


def is_valid_email(value: str) -> bool:
    """Whether `value` is one email address (Django's validator)."""
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _encode_email(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
    if isinstance(source.value, list | dict):
        problems.append(field_problem(f, INVALID, f"{f.label} takes one email address."))
        return SKIP
    text = (_text_of(source, multiline=False) or "").strip()
    if text and not is_valid_email(text):
        problems.append(
            field_problem(f, INVALID, f"{f.label}: {text!r} is not a valid email address.")
        )
        return SKIP
    return text


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def to_tallyfy_date(value: Any) -> str | None:
    """`YYYY-MM-DD` (Tally's INPUT_DATE) or an ISO 8601 date-time as Tallyfy's
    `YYYY-MM-DDTHH:MM:SS.000Z` (UTC). A bare day is midnight UTC; a date-time without an
    offset is taken as UTC. None when it is not a date."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if _DAY.match(text):
                day = date.fromisoformat(text)
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
        except ValueError:
            return None
    else:
        return None
    try:
        m = moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        return None
    # Not strftime: its %Y drops the zero padding of years before 1000 on glibc.
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond // 1000:03d}Z"
    )


def _encode_date(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
    converted = to_tallyfy_date(source.value)
    if converted is None:
        problems.append(
            field_problem(
                f, INVALID, f"{f.label}: {display(source).text!r} is not a date (YYYY-MM-DD)."
            )
        )
        return SKIP
    return converted


def _candidates(source: Answer) -> list[tuple[str | None, str]]:
    """What the answer chose, as (Tally option id or None, text) pairs."""
    value = source.value
    if isinstance(value, list) and (source.type in CHOICE_TYPES or source.options):
        return [(o.id, o.text) for o in selected_options(source)]
    if isinstance(value, list):
        out: list[tuple[str | None, str]] = []
        for item in value:
            if isinstance(item, Mapping) and item.get("id") is not None:
                out.append((str(item["id"]), str(item.get("text", item["id"]))))
            elif item is not None and not is_blank(item):
                out.append((None, format_scalar(item)))
        return out
    if isinstance(value, Mapping):
        if value.get("id") is not None:
            return [(str(value["id"]), str(value.get("text", value["id"])))]
        return []
    if is_blank(value):
        return []
    return [(None, format_scalar(value))]


def _resolved(
    f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]
) -> list[Option] | None:
    """The Tallyfy options the answer picks; None (with a problem) when any has no match."""
    found: list[Option] = []
    missing: list[str] = []
    for tally_id, text in _candidates(source):
        option = resolve_option(tally_id, text, f.options, rule.option_map)
        if option is None:
            missing.append(text)
        elif option not in found:
            found.append(option)
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        problems.append(
            field_problem(
                f,
                UNMATCHED_OPTION,
                f"{f.label}: {listed} matches no option of this Tallyfy field; "
                "add it to the option map.",
            )
        )
        return None
    return found


def _single(
    f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]
) -> Option | None:
    chosen = _resolved(f, source, rule, problems)
    if chosen is None:
        return None
    if len(chosen) != 1:
        texts = ", ".join(repr(o.text) for o in chosen)
        problems.append(
            field_problem(
                f, INVALID, f"{f.label} takes one option, the answer has {len(chosen)}: {texts}."
            )
        )
        return None
    return chosen[0]


def _encode_radio(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
    option = _single(f, source, rule, problems)
    return SKIP if option is None else option.text


def _encode_dropdown(
    f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]
) -> Any:
    option = _single(f, source, rule, problems)
    if option is None:
        return SKIP
    if option.id is None:
        problems.append(
            field_problem(
                f, INVALID, f"{f.label}: Tallyfy gave option {option.text!r} no numeric id."
            )
        )
        return SKIP
    return {"id": option.id, "text": option.text}


def _encode_multiselect(
    f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]
) -> Any:
    chosen = _resolved(f, source, rule, problems)
    if chosen is None:
        return SKIP
    if any(o.id is None for o in chosen):
        problems.append(
            field_problem(f, INVALID, f"{f.label}: a Tallyfy option has no numeric id.")
        )
        return SKIP
    # Without "selected": true Tallyfy stores the choice but shows it blank.
    return [{"id": o.id, "text": o.text, "selected": True} for o in chosen]


def _encode_table(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
    if not f.columns:
        problems.append(field_problem(f, INVALID, f"{f.label}: this Tallyfy table has no columns."))
        return SKIP
    rows = table_rows(f.columns, source)
    if rows is None:
        problems.append(
            field_problem(f, INVALID, f"{f.label}: only a Tally matrix can fill a table.")
        )
        return SKIP
    if not rows:
        return SKIP  # "omit the key to leave it empty"
    # A table value is a flat list, one string per column (`["Widget", "3"]`): one row only
    # (docs/vendor-notes.md, "Where the sources disagree"). More rows are joined into each
    # cell, one line per row in order, so nothing is lost; staff are told the rows merged.
    if len(rows) > 1:
        problems.append(
            field_problem(
                f,
                JOINED_ROWS,
                f"{f.label}: a Tallyfy table takes one row, so the answer's {len(rows)} rows "
                "were joined into each cell, one line per row.",
            )
        )
    return ["\n".join(row[i] for row in rows) for i in range(len(f.columns))]


def _encode_file(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
    value = source.value
    if isinstance(value, str | Mapping):
        source = Answer(source.key, source.label, "FILE_UPLOAD", [value])
    links = files(source)
    bad = [link.name for link in links if not re.match(r"^https?://", link.url)]
    if bad or not links:
        problems.append(
            field_problem(
                f, INVALID, f"{f.label}: no downloadable URL for {', '.join(bad) or 'the file'}."
            )
        )
        return SKIP
    return [{"filename": link.name, "source": "url", "url": link.url} for link in links]


_EMAIL_SPLIT = re.compile(r"[,;\s]+")


def _encode_assignees(
    f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]
) -> Any:
    value = source.value
    users: list[int] = []
    groups: list[str] = []
    if isinstance(value, Mapping):
        users = [
            u for u in value.get("users") or [] if isinstance(u, int) and not isinstance(u, bool)
        ]
        groups = [str(g) for g in value.get("groups") or []]
        raw: list[Any] = list(value.get("guests") or [])
    else:
        raw = value if isinstance(value, list) else [value]
    guests: list[str] = []
    for item in raw:
        for email in _EMAIL_SPLIT.split(format_scalar(item)):
            if email and email not in guests:
                guests.append(email)
    invalid = [g for g in guests if not is_valid_email(g)]
    if invalid:
        problems.append(
            field_problem(
                f,
                INVALID,
                f"{f.label}: {', '.join(repr(g) for g in invalid)} is not an email address.",
            )
        )
        return SKIP
    if not (users or guests or groups):
        return SKIP
    return {"users": users, "guests": guests, "groups": groups}


ENCODERS: dict[str, Encoder] = {
    "text": _encode_text(TEXT_MAX, multiline=False),
    "textarea": _encode_text(TEXTAREA_MAX, multiline=True),
    "email": _encode_email,
    "date": _encode_date,
    "radio": _encode_radio,
    "dropdown": _encode_dropdown,
    "multiselect": _encode_multiselect,
    "table": _encode_table,
    "file": _encode_file,
    "assignees_form": _encode_assignees,
}
STRING_FIELDS = frozenset({"text", "textarea", "email"})


def encode_value(
    f: KickoffField, source: Answer, rule: FieldRule | None = None
) -> tuple[Any, list[Problem]]:
    """One value in the shape `f.field_type` wants (vendor notes, "Launch" table), or SKIP."""
    problems: list[Problem] = []
    encoder = ENCODERS.get(f.field_type)
    if encoder is None:
        problems.append(
            field_problem(f, INVALID, f"{f.label}: Kickoff cannot fill a {f.field_type!r} field.")
        )
        return SKIP, problems
    return encoder(f, source, rule or FieldRule(f.id), problems), problems


def is_empty(value: Any) -> bool:
    """Whether Tallyfy would count `value` as missing for a required field."""
    if isinstance(value, Mapping) and {"users", "guests", "groups"} & value.keys():
        return not any(value.get(k) for k in ("users", "guests", "groups"))
    return value is SKIP or is_blank(value)


def constant_answer(label: str, type_: str, value: Any) -> Answer:
    """A value that is not a Tally answer (a constant, a default, a rendered template) in
    the answer shape the encoders read."""
    return Answer(key="", label=label, type=type_, value=value)
