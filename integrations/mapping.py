"""The mapping engine: Tally answers -> the body of Tallyfy's launch call (POST /runs).

Pure functions: no ORM, no HTTP. The rules (`FieldRule`, `MappingSpec`) come from a saved
mapping version, the answers from `integrations.tally.answers`, the kick-off fields from
`integrations.tallyfy.client.get_template`. The vendor facts that force the odd choices below
are in docs/vendor-notes.md ("Launch" table); the ones that bite hardest:

- `prerun` is keyed by kick-off field **id**: labels and aliases are silently dropped;
- each field type wants its own value shape (radio: bare text, dropdown: `{id, text}`,
  multiselect: `[{id, text, selected: true}]`, ...), and option text is compared exactly;
- a missing required value is 91.8% of real launch failures: report it before sending.

Decisions (documented here because callers depend on them):

- **Marker.** `MappingSpec.marker` (`kickoff-<install key>-delivery-<id>`) is appended to
  the run's `summary` as a last line `Kickoff reference: <marker>`. Not the name (people
  read and rename it, and it is capped at 550) nor a tag (tags are shared objects in
  Tallyfy and would pile up one per delivery). `find_marker(run.summary)` reads it back
  when a delivery whose earlier attempt had an unknown outcome looks for the run it may
  have created.
- **Placeholders.** `name_template`, `summary_template` and `template` rules use
  `{placeholder}`; `{{` and `}}` are literal braces. A placeholder is looked up as a Tally
  field key (`{question_3EKz4n}`), then as a `context` key (what the delivery pipeline
  passes, see `CONTEXT_PLACEHOLDERS`), then as a label when exactly one answer has it
  (`{Company name}`; exact, then case-insensitive). It renders as the answer's display text
  (option texts, "0", "No"); unknown or ambiguous ones render empty and are reported.
- **Table rows.** A Tally MATRIX becomes one table row per answered matrix row. A Tallyfy
  column whose label equals a matrix column's text gets "✓" when that row chose it; the
  other columns, in order, get the row's text, then the chosen columns' texts joined by
  ", " (a lone column with no ticked ones gets "Row: chosen"). The value sent is one entry
  per Tallyfy column: `{"id": column id, "label": column label, "value": [cell per row]}`.
- **Blank answers.** `None`, an empty list/object, or a blank string for a non-text field
  count as "no answer": the rule's `default` is used, else the key is left out (Tallyfy
  leaves the field empty). Strings are sent as typed to text/textarea/email fields, even
  `""`; `0` and `False` are always answers ("0", "No" as text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from integrations.tally.answers import (
    CHOICE_TYPES,
    FILE_TYPES,
    NUMBER_TYPES,
    VARIABLE_TYPES,
    Answer,
    ChoiceOption,
    answer_index,
    answers_from_questions,
    display,
    files,
    format_scalar,
    is_blank,
    matrix_rows,
    selected_options,
)
from integrations.tallyfy.client import Column, KickoffField, Option

TEXT_MAX = 200
TEXTAREA_MAX = 30_000
NAME_MAX = 550
ELLIPSIS = "…"
MARKER_PREFIX = "Kickoff reference: "
FALLBACK_NAME = "Tally submission"
TICK = "✓"

# Keys the delivery pipeline may pass as `context` to build_launch (all optional).
CONTEXT_PLACEHOLDERS: tuple[str, ...] = (
    "form_id",
    "form_name",
    "submission_id",
    "respondent_id",
    "submitted_at",
)

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
UNKNOWN_FIELD = "unknown_field"
MISSING_SOURCE = "missing_source"
UNKNOWN_PLACEHOLDER = "unknown_placeholder"
WARNING_CODES = frozenset({TRUNCATED, UNKNOWN_FIELD, MISSING_SOURCE, UNKNOWN_PLACEHOLDER})

# Pseudo field ids for problems with the process name and summary (Tallyfy ids are 32 hex).
NAME = "name"
SUMMARY = "summary"

Source = Literal["field", "constant", "template"]


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# Which Tally answers fit which kick-off field
# ---------------------------------------------------------------------------------------

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


def compatible_sources(
    kickoff_field: KickoffField, answers_or_questions: Iterable[Any]
) -> list[Answer]:
    """The Tally inputs (from a submission's answers or a form's questions) that can fill
    `kickoff_field`, in form order."""
    return [s for s in _sources(answers_or_questions) if is_compatible(kickoff_field.field_type, s)]


def _sources(answers_or_questions: Iterable[Any]) -> list[Answer]:
    """Answers as given, or questions (dicts / TallyQuestion) turned into empty Answers."""
    items = list(answers_or_questions)
    if all(isinstance(i, Answer) for i in items):
        return items
    return [i for i in items if isinstance(i, Answer)] + answers_from_questions(
        i for i in items if not isinstance(i, Answer)
    )


# ---------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    """Case-insensitive, trimmed comparison key (inner runs of spaces count as one)."""
    return " ".join(str(text).split()).casefold()


def find_option(text: str, options: Sequence[Option]) -> Option | None:
    """Tallyfy's option for `text`: exact text, then case-insensitive trimmed (only when
    unambiguous), then by option id. Tallyfy compares text exactly, so callers send the
    returned option's own text."""
    for option in options:
        if option.text == text:
            return option
    loose = [o for o in options if _norm(o.text) == _norm(text)]
    if len(loose) == 1:
        return loose[0]
    return next((o for o in options if o.id is not None and str(o.id) == str(text).strip()), None)


def resolve_option(
    tally_id: str | None,
    tally_text: str,
    options: Sequence[Option],
    option_map: Mapping[str, str] | None = None,
) -> Option | None:
    """The Tallyfy option for a chosen Tally option.

    The rule's `option_map` wins (looked up by Tally option id, then text, then text
    case-insensitively); otherwise the Tally text is matched with `find_option`, and last
    the Tally id against Tallyfy's option ids.
    """
    if option_map:
        target = _mapped(option_map, tally_id, tally_text)
        if target is not None:
            return find_option(target, options)
    found = find_option(tally_text, options)
    if found is None and tally_id is not None and tally_id != tally_text:
        found = next((o for o in options if o.id is not None and str(o.id) == tally_id), None)
    return found


def _mapped(option_map: Mapping[str, str], tally_id: str | None, tally_text: str) -> str | None:
    for key in (tally_id, tally_text):
        if key is not None and key in option_map:
            return option_map[key]
    loose = [v for k, v in option_map.items() if _norm(k) == _norm(tally_text)]
    return loose[0] if len(loose) == 1 else None


def auto_match_options(
    tally_options: Iterable[Any], tallyfy_options: Iterable[Any]
) -> dict[str, Any]:
    """Pair a Tally question's options with a Tallyfy field's, for the mapping builder.

    Exact text first, then case-insensitive trimmed; each Tallyfy option is used once.
    Returns `{"matched": {tally option id: tallyfy text}` (ready to save as an option map),
    `"pairs": [(ChoiceOption, Option)]`, `"unmatched": [ChoiceOption]` (Tally options with no
    counterpart) and `"unused": [Option]` (Tallyfy options nobody chose)}.
    """
    tally = [_as_choice(o) for o in tally_options]
    tallyfy = [_as_option(o) for o in tallyfy_options]
    pairs: dict[int, Option] = {}
    used: set[int] = set()
    for key in (str, _norm):
        for i, option in enumerate(tally):
            j = next(
                (
                    j
                    for j, candidate in enumerate(tallyfy)
                    if i not in pairs and j not in used and key(candidate.text) == key(option.text)
                ),
                None,
            )
            if j is not None:
                pairs[i] = tallyfy[j]
                used.add(j)
    ordered = [(tally[i], pairs[i]) for i in sorted(pairs)]
    return {
        "matched": {t.id: o.text for t, o in ordered},
        "pairs": ordered,
        "unmatched": [o for i, o in enumerate(tally) if i not in pairs],
        "unused": [o for j, o in enumerate(tallyfy) if j not in used],
    }


def _as_choice(option: Any) -> ChoiceOption:
    if isinstance(option, ChoiceOption):
        return option
    if isinstance(option, Mapping):
        return ChoiceOption(
            str(option.get("id", option.get("text", ""))), str(option.get("text", ""))
        )
    return ChoiceOption(str(option), str(option))


def _as_option(option: Any) -> Option:
    if isinstance(option, Option):
        return option
    if isinstance(option, Mapping):
        raw_id = option.get("id")
        return Option(
            id=raw_id if isinstance(raw_id, int) else None, text=str(option.get("text", ""))
        )
    return Option(id=None, text=str(option))


# ---------------------------------------------------------------------------------------
# Templates (process name, summary, template rules)
# ---------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def placeholders(template: str) -> list[str]:
    """The placeholder names in `template`, in order (`{{`/`}}` are literal braces)."""
    return [
        m.group(1).strip() for m in _PLACEHOLDER.finditer(template or "") if m.group(1) is not None
    ]


def render_template(
    template: str, answers: Sequence[Answer], context: Mapping[str, Any] | None = None
) -> tuple[str, list[str]]:
    """`template` with each placeholder replaced by its answer's display text.

    Returns the text and the placeholders that matched nothing (rendered empty).
    """
    lookup = _placeholder_lookup(answers, context or {})
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        name = match.group(1).strip()
        value = lookup(name)
        if value is None:
            unknown.append(name)
            return ""
        return value

    return _PLACEHOLDER.sub(replace, template or ""), unknown


def _placeholder_lookup(
    answers: Sequence[Answer], context: Mapping[str, Any]
) -> Callable[[str], str | None]:
    index = answer_index(answers)
    by_label: dict[str, list[Answer]] = {}
    by_loose_label: dict[str, list[Answer]] = {}
    for answer in answers:
        if answer.label:
            by_label.setdefault(answer.label.strip(), []).append(answer)
            by_loose_label.setdefault(_norm(answer.label), []).append(answer)

    def lookup(name: str) -> str | None:
        if name in index:
            return display(index[name]).text or ""
        if name in context:
            return "" if context[name] is None else format_scalar(context[name])
        for found in (by_label.get(name), by_loose_label.get(_norm(name))):
            if found and len(found) == 1:
                return display(found[0]).text or ""
            if found:
                return None  # a label several fields share: ambiguous
        return None

    return lookup


def _known_placeholder(name: str, sources: Sequence[Answer]) -> bool:
    if name in CONTEXT_PLACEHOLDERS or any(s.key == name for s in sources):
        return True
    exact = [s for s in sources if s.label and s.label.strip() == name]
    loose = [s for s in sources if s.label and _norm(s.label) == _norm(name)]
    return len(exact) == 1 or (not exact and len(loose) == 1)


def reference_line(marker: str) -> str:
    """The summary line that carries a delivery's marker."""
    return f"{MARKER_PREFIX}{marker}"


def find_marker(summary: str | None) -> str | None:
    """The marker a run's summary carries (last reference line), if any."""
    found = None
    for line in (summary or "").splitlines():
        if line.strip().startswith(MARKER_PREFIX):
            found = line.strip()[len(MARKER_PREFIX) :].strip()
    return found


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


# ---------------------------------------------------------------------------------------
# Encoding one value per field type
# ---------------------------------------------------------------------------------------


class _Skip:
    """No value: leave the key out of `prerun`."""


SKIP = _Skip()
Encoder = Callable[[KickoffField, Answer, FieldRule, list[Problem]], Any]


def _problem(f: KickoffField, code: str, message: str) -> Problem:
    return Problem(field_id=f.id, label=f.label, code=code, message=message)


def _unmatched_placeholders(where: str, label: str, names: Iterable[str]) -> list[Problem]:
    """A warning per `{placeholder}` a template used that no answer filled."""
    return [
        Problem(where, label, UNKNOWN_PLACEHOLDER, f"{label}: {{{name}}} matches no Tally field.")
        for name in names
    ]


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
                _problem(
                    f,
                    TRUNCATED,
                    f"{f.label} was cut to {limit} characters (the answer had {len(text)}).",
                )
            )
            return _truncate(text, limit)
        return text

    return encode


def is_valid_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _encode_email(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
    if isinstance(source.value, list | dict):
        problems.append(_problem(f, INVALID, f"{f.label} takes one email address."))
        return SKIP
    text = (_text_of(source, multiline=False) or "").strip()
    if text and not is_valid_email(text):
        problems.append(_problem(f, INVALID, f"{f.label}: {text!r} is not a valid email address."))
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
            _problem(f, INVALID, f"{f.label}: {display(source).text!r} is not a date (YYYY-MM-DD).")
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
            _problem(
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
            _problem(
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
            _problem(f, INVALID, f"{f.label}: Tallyfy gave option {option.text!r} no numeric id.")
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
        problems.append(_problem(f, INVALID, f"{f.label}: a Tallyfy option has no numeric id."))
        return SKIP
    # Without "selected": true Tallyfy stores the choice but shows it blank.
    return [{"id": o.id, "text": o.text, "selected": True} for o in chosen]


def _table_rows(columns: Sequence[Column], source: Answer) -> list[list[str]] | None:
    """One list of cells (column order) per table row; None when the answer can't be a table."""
    if source.type == "MATRIX" and isinstance(source.value, Mapping):
        return _matrix_table(columns, source)
    if not isinstance(source.value, list):
        return None
    rows = []
    for item in source.value:
        if isinstance(item, list | tuple):
            cells = [format_scalar(v) for v in item][: len(columns)]
            rows.append(cells + [""] * (len(columns) - len(cells)))
        elif isinstance(item, Mapping):
            rows.append(
                [
                    format_scalar(item.get(c.label, item.get(str(c.id), item.get(c.id, ""))))
                    for c in columns
                ]
            )
        else:
            rows.append([format_scalar(item)] + [""] * (len(columns) - 1))
    return rows


def _matrix_table(columns: Sequence[Column], source: Answer) -> list[list[str]]:
    matrix_texts = {_norm(c.text) for c in source.columns}
    ticked = {i for i, c in enumerate(columns) if _norm(c.label) in matrix_texts}
    free = [i for i in range(len(columns)) if i not in ticked]
    rows = []
    for row, chosen in matrix_rows(source):
        chosen_texts = [c.text for c in chosen]
        cells = [""] * len(columns)
        for i in ticked:
            cells[i] = TICK if _norm(columns[i].label) in {_norm(t) for t in chosen_texts} else ""
        if len(free) == 1:
            cells[free[0]] = row.text if ticked else f"{row.text}: {', '.join(chosen_texts)}"
        elif free:
            cells[free[0]] = row.text
            cells[free[1]] = ", ".join(chosen_texts)
        rows.append(cells)
    return rows


def _encode_table(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
    if not f.columns:
        problems.append(_problem(f, INVALID, f"{f.label}: this Tallyfy table has no columns."))
        return SKIP
    rows = _table_rows(f.columns, source)
    if rows is None:
        problems.append(_problem(f, INVALID, f"{f.label}: only a Tally matrix can fill a table."))
        return SKIP
    if not rows:
        return SKIP  # "omit the key to leave it empty"
    return [
        {"id": c.id, "label": c.label, "value": [row[i] for row in rows]}
        for i, c in enumerate(f.columns)
    ]


def _encode_file(f: KickoffField, source: Answer, rule: FieldRule, problems: list[Problem]) -> Any:
    value = source.value
    if isinstance(value, str | Mapping):
        source = Answer(source.key, source.label, "FILE_UPLOAD", [value])
    links = files(source)
    bad = [link.name for link in links if not re.match(r"^https?://", link.url)]
    if bad or not links:
        problems.append(
            _problem(
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
            _problem(
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
_STRING_FIELDS = frozenset({"text", "textarea", "email"})


def encode_value(
    f: KickoffField, source: Answer, rule: FieldRule | None = None
) -> tuple[Any, list[Problem]]:
    """One value in the shape `f.field_type` wants (vendor notes, "Launch"), or SKIP."""
    problems: list[Problem] = []
    encoder = ENCODERS.get(f.field_type)
    if encoder is None:
        problems.append(
            _problem(f, INVALID, f"{f.label}: Kickoff cannot fill a {f.field_type!r} field.")
        )
        return SKIP, problems
    return encoder(f, source, rule or FieldRule(f.id), problems), problems


def is_empty(value: Any) -> bool:
    """Whether Tallyfy would count `value` as missing for a required field."""
    if isinstance(value, Mapping) and {"users", "guests", "groups"} & value.keys():
        return not any(value.get(k) for k in ("users", "guests", "groups"))
    return value is SKIP or is_blank(value)


# ---------------------------------------------------------------------------------------
# The launch
# ---------------------------------------------------------------------------------------


def _synthetic(label: str, type_: str, value: Any) -> Answer:
    return Answer(key="", label=label, type=type_, value=value)


def _rule_source(
    f: KickoffField,
    rule: FieldRule,
    answers: Sequence[Answer],
    index: Mapping[str, Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> Answer | None:
    if rule.source == "constant":
        return _synthetic(f.label, "CONSTANT", rule.constant)
    if rule.source == "template":
        text, unknown = render_template(rule.template, answers, context)
        problems.extend(_unmatched_placeholders(f.id, f.label, unknown))
        return _synthetic(f.label, "TEMPLATE", text)
    if rule.source != "field":
        problems.append(_problem(f, INVALID, f"{f.label}: unknown rule source {rule.source!r}."))
        return None
    source = index.get(rule.source_key)
    if source is None:
        problems.append(
            _problem(
                f,
                MISSING_SOURCE,
                f"{f.label}: Tally field {rule.source_key!r} is not in this submission.",
            )
        )
    return source


def _fill_field(
    f: KickoffField,
    rule: FieldRule,
    answers: Sequence[Answer],
    index: Mapping[str, Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> Any:
    """The prerun value for one field (or SKIP), appending what went wrong to `problems`."""
    source = _rule_source(f, rule, answers, index, context, problems)
    keeps_string = (
        source is not None and isinstance(source.value, str) and f.field_type in _STRING_FIELDS
    )
    if (source is None or is_blank(source.value)) and rule.default is not None:
        source = _synthetic(f.label, "CONSTANT", rule.default)
    elif source is None or (is_blank(source.value) and not keeps_string):
        return SKIP
    value, found = encode_value(f, source, rule)
    problems.extend(found)
    return value


def build_launch(
    spec: MappingSpec,
    answers: Sequence[Answer],
    fields: Sequence[KickoffField],
    *,
    context: Mapping[str, Any] | None = None,
) -> LaunchPlan:
    """The Tallyfy launch body for one submission, and every problem found on the way.

    Never raises on odd answers: anything Kickoff cannot send becomes a `Problem`. A launch
    with a blocking problem must not be sent; `body` is still complete so the operator sees
    what would go out. `context` fills the extra placeholders (`CONTEXT_PLACEHOLDERS`).
    """
    context = context or {}
    answers = list(answers)
    index = answer_index(answers)
    problems: list[Problem] = []
    by_id = {f.id: f for f in fields}
    rules: dict[str, FieldRule] = {}
    for rule in spec.rules:
        if rule.target_field_id not in by_id:
            problems.append(_unknown_target(rule, fields))
        elif rule.target_field_id in rules:
            f = by_id[rule.target_field_id]
            problems.append(
                _problem(f, DUPLICATE, f"{f.label} is mapped twice; the first rule is used.")
            )
        else:
            rules[rule.target_field_id] = rule

    prerun: dict[str, Any] = {}
    for f in fields:
        rule = rules.get(f.id)
        value = SKIP if rule is None else _fill_field(f, rule, answers, index, context, problems)
        if value is not SKIP:
            # Keyed by the field id: Tallyfy drops label or alias keys without a word.
            prerun[f.id] = value
        already = any(p.field_id == f.id and p.blocking for p in problems)
        if f.required and is_empty(value) and not already:
            # Mirrors Tallyfy's 422, the most common launch failure by far.
            problems.append(_problem(f, REQUIRED, f"{f.label} is required"))

    body: dict[str, Any] = {
        "checklist_id": spec.checklist_id,
        "name": _name(spec, answers, context, problems),
    }
    summary = _summary(spec, answers, context, problems)
    if summary:
        body["summary"] = summary
    body["prerun"] = prerun
    if spec.tags:
        body["tags"] = list(spec.tags)
    if spec.folders:
        body["folders"] = list(spec.folders)
    if spec.owner_id is not None:
        body["owner_id"] = spec.owner_id
    return LaunchPlan(body=body, problems=problems)


def _unknown_target(rule: FieldRule, fields: Sequence[KickoffField]) -> Problem:
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


def _name(
    spec: MappingSpec,
    answers: Sequence[Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> str:
    text, unknown = render_template(spec.name_template, answers, context)
    problems.extend(_unmatched_placeholders(NAME, "Process name", unknown))
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
        name = _truncate(name, NAME_MAX)
    return name


def _summary(
    spec: MappingSpec,
    answers: Sequence[Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
) -> str:
    text, unknown = render_template(spec.summary_template, answers, context)
    problems.extend(_unmatched_placeholders(SUMMARY, "Summary", unknown))
    lines = [text.rstrip()] if text.strip() else []
    if spec.marker:
        lines.append(reference_line(spec.marker))
    return "\n\n".join(lines)


# ---------------------------------------------------------------------------------------
# Checks without a submission
# ---------------------------------------------------------------------------------------


def validate_spec(
    spec: MappingSpec, fields: Sequence[KickoffField], questions: Iterable[Any]
) -> list[Problem]:
    """What is wrong with a mapping before any submission arrives.

    `questions` are the form's questions (dicts / TallyQuestion) or sample answers. Checks:
    required field with nothing mapped, rule for a field the template no longer has, Tally
    field no longer in the form, type pairs that don't fit, option-map entries pointing to a
    Tallyfy option that no longer exists, Tally options that match no Tallyfy option,
    constants and defaults that can't be sent, unknown placeholders.
    """
    sources = _sources(questions)
    by_key = answer_index(sources)
    by_id = {f.id: f for f in fields}
    problems: list[Problem] = []
    covered: set[str] = set()
    seen: set[str] = set()
    for rule in spec.rules:
        f = by_id.get(rule.target_field_id)
        if f is None:
            problems.append(_unknown_target(rule, fields))
            continue
        if f.id in seen:
            problems.append(_problem(f, DUPLICATE, f"{f.label} is mapped twice."))
            continue
        seen.add(f.id)
        found = _check_rule(f, rule, by_key, sources)
        problems.extend(found)
        empty_constant = rule.source == "constant" and rule.constant is None
        unfillable = empty_constant or any(p.code in (UNKNOWN_SOURCE, INVALID) for p in found)
        if rule.default is not None or not unfillable:
            covered.add(f.id)
    for f in fields:
        if f.required and f.id not in covered:
            problems.append(
                _problem(
                    f,
                    REQUIRED,
                    f"{f.label} is required: map a Tally field, a constant or a default.",
                )
            )
    for where, label, template in (
        (NAME, "Process name", spec.name_template),
        (SUMMARY, "Summary", spec.summary_template),
    ):
        for name in placeholders(template):
            if not _known_placeholder(name, sources):
                problems.append(
                    Problem(
                        where,
                        label,
                        UNKNOWN_PLACEHOLDER,
                        f"{label}: {{{name}}} is not a Tally field key or a unique label.",
                    )
                )
    return problems


def _check_rule(
    f: KickoffField, rule: FieldRule, by_key: Mapping[str, Answer], sources: Sequence[Answer]
) -> list[Problem]:
    problems: list[Problem] = []
    for tally, target in rule.option_map.items():
        if find_option(target, f.options) is None:
            problems.append(
                _problem(
                    f,
                    UNKNOWN_OPTION,
                    f"{f.label}: the option map sends {tally!r} to {target!r}, which is gone.",
                )
            )
    if rule.default is not None:
        problems.extend(_dry_run(f, rule, rule.default, "default"))
    if rule.source == "constant":
        if rule.constant is not None:
            problems.extend(_dry_run(f, rule, rule.constant, "constant"))
    elif rule.source == "template":
        for name in placeholders(rule.template):
            if not _known_placeholder(name, sources):
                problems.append(
                    _problem(
                        f,
                        UNKNOWN_PLACEHOLDER,
                        f"{f.label}: {{{name}}} is not a Tally field key or a unique label.",
                    )
                )
    elif rule.source == "field":
        source = by_key.get(rule.source_key)
        if not rule.source_key:
            problems.append(_problem(f, INVALID, f"{f.label}: no Tally field chosen."))
        elif source is None:
            problems.append(
                _problem(
                    f,
                    UNKNOWN_SOURCE,
                    f"{f.label}: Tally field {rule.source_key!r} is no longer in the form.",
                )
            )
        elif not is_compatible(f.field_type, source):
            problems.append(
                _problem(
                    f,
                    INCOMPATIBLE,
                    f"{f.label}: a Tally {source.type} can't fill a Tallyfy {f.field_type} field.",
                )
            )
        elif (
            f.field_type in ("radio", "dropdown", "multiselect") and source.options and not problems
        ):
            missing = [
                o.text
                for o in source.options
                if resolve_option(o.id, o.text, f.options, rule.option_map) is None
            ]
            if missing:
                listed = ", ".join(repr(m) for m in missing)
                problems.append(
                    _problem(
                        f,
                        UNMATCHED_OPTION,
                        f"{f.label}: Tally option(s) {listed} match no Tallyfy option; map them.",
                    )
                )
    else:
        problems.append(_problem(f, INVALID, f"{f.label}: unknown rule source {rule.source!r}."))
    return problems


def _dry_run(f: KickoffField, rule: FieldRule, value: Any, what: str) -> list[Problem]:
    _, found = encode_value(f, _synthetic(f.label, "CONSTANT", value), rule)
    return [
        Problem(p.field_id, p.label, p.code, f"{p.message} (the {what})")
        for p in found
        if p.blocking
    ]


def drift(
    old_fields: Sequence[KickoffField],
    new_fields: Sequence[KickoffField],
    old_questions: Iterable[Any],
    new_questions: Iterable[Any],
) -> list[str]:
    """What changed between two snapshots of a template's kick-off fields and a form's
    questions, one sentence per difference (Tallyfy fields by id, Tally fields by key)."""
    out = _field_drift(old_fields, new_fields)
    out += _question_drift(_sources(old_questions), _sources(new_questions))
    return out


def _field_drift(old: Sequence[KickoffField], new: Sequence[KickoffField]) -> list[str]:
    out: list[str] = []
    before, after = {f.id: f for f in old}, {f.id: f for f in new}
    for f in old:
        if f.id not in after:
            out.append(f'Kick-off field "{f.label}" was removed.')
    for f in new:
        was = before.get(f.id)
        if was is None:
            kind = "required kick-off field" if f.required else "kick-off field"
            out.append(f'New {kind} "{f.label}" ({f.field_type}).')
            continue
        if was.label != f.label:
            out.append(f'Kick-off field "{was.label}" was renamed to "{f.label}".')
        if was.field_type != f.field_type:
            out.append(
                f'Kick-off field "{f.label}" changed type from {was.field_type} to {f.field_type}.'
            )
        if was.required != f.required:
            out.append(
                f'Kick-off field "{f.label}" is {"now" if f.required else "no longer"} required.'
            )
        out += _choices_drift(
            f'kick-off field "{f.label}"',
            [(str(o.id), o.text) for o in was.options],
            [(str(o.id), o.text) for o in f.options],
            "Option",
        )
        out += _choices_drift(
            f'table "{f.label}"',
            [(str(c.id), c.label) for c in was.columns],
            [(str(c.id), c.label) for c in f.columns],
            "Column",
        )
    return out


def _question_drift(old: Sequence[Answer], new: Sequence[Answer]) -> list[str]:
    out: list[str] = []
    before, after = answer_index(old), answer_index(new)
    for s in old:
        if s.key not in after:
            out.append(f'Tally field "{s.label}" ({s.key}) was removed from the form.')
    for s in new:
        was = before.get(s.key)
        if was is None:
            out.append(f'New Tally field "{s.label}" ({s.key}, {s.type}).')
            continue
        if was.label != s.label:
            out.append(f'Tally field "{was.label}" ({s.key}) was renamed to "{s.label}".')
        if was.type != s.type:
            out.append(
                f'Tally field "{s.label}" ({s.key}) changed type from {was.type} to {s.type}.'
            )
        if was.options and s.options:
            out += _choices_drift(
                f'Tally field "{s.label}"',
                [(o.id, o.text) for o in was.options],
                [(o.id, o.text) for o in s.options],
                "Option",
            )
    return out


def _choices_drift(
    where: str, old: list[tuple[str, str]], new: list[tuple[str, str]], noun: str
) -> list[str]:
    out: list[str] = []
    before, after = dict(old), dict(new)
    for key, text in old:
        if key not in after:
            out.append(f'{noun} "{text}" was removed from {where}.')
        elif after[key] != text:
            out.append(f'{noun} "{text}" of {where} was renamed to "{after[key]}".')
    for key, text in new:
        if key not in before:
            out.append(f'{noun} "{text}" was added to {where}.')
    return out
