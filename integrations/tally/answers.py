"""Tally submissions normalised into `Answer`s: one per input, keyed like the webhook.

Pure functions (no ORM, no HTTP). Two sources feed the same shape:

- a FORM_RESPONSE webhook (`answers_from_webhook`), Tally's richest shape: option ids with
  their `options`, MATRIX `rows`/`columns`, one field per hidden/calculated variable and per
  payment part;
- the REST API (`answers_from_submission`), which answers per *question* and often with
  option *texts*; it is reshaped here into the webhook's keys so that a mapping built from a
  form's questions works on webhooks and on back-filled submissions alike.

Facts relied on are in docs/vendor-notes.md ("Webhook delivery" table). In short: identify
answers by `key` (labels repeat, may be empty and may change), never drop `false`, `0` or
`""` (they are real answers), and skip the per-option boolean checkbox fields or every
checkbox question counts N+1 times.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TALLY_TYPES: tuple[str, ...] = (
    "INPUT_TEXT",
    "INPUT_NUMBER",
    "INPUT_EMAIL",
    "INPUT_PHONE_NUMBER",
    "INPUT_LINK",
    "INPUT_DATE",
    "INPUT_TIME",
    "TEXTAREA",
    "MULTIPLE_CHOICE",
    "DROPDOWN",
    "CHECKBOXES",
    "MULTI_SELECT",
    "RANKING",
    "LINEAR_SCALE",
    "RATING",
    "FILE_UPLOAD",
    "SIGNATURE",
    "PAYMENT",
    "HIDDEN_FIELDS",
    "CALCULATED_FIELDS",
    "MATRIX",
)
CHOICE_TYPES = frozenset({"MULTIPLE_CHOICE", "DROPDOWN", "CHECKBOXES", "MULTI_SELECT", "RANKING"})
FILE_TYPES = frozenset({"FILE_UPLOAD", "SIGNATURE"})
NUMBER_TYPES = frozenset({"INPUT_NUMBER", "RATING", "LINEAR_SCALE"})
VARIABLE_TYPES = frozenset({"HIDDEN_FIELDS", "CALCULATED_FIELDS"})
PAYMENT_PARTS: tuple[str, ...] = ("price", "currency", "name", "email", "link")


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceOption:
    """An option (or a MATRIX row/column) as Tally sends it: `{id, text}`."""

    id: str
    text: str


@dataclass(frozen=True)
class Answer:
    """One answered (or unanswered) input of a submission.

    `key` identifies it (`question_<id>`, `question_<id>_<uuid>` for hidden/calculated
    variables, `question_<id>_<part>` for payment parts). `value` keeps Tally's JSON shape,
    normalised only where Tally is inconsistent:

    - choice types: a list of option ids in Tally's order (RANKING: rank order), even when
      Tally sent a bare string; an item matching no option is kept as given ("Other" text);
    - MATRIX: `{row id: [column id, ...]}`;
    - FILE_UPLOAD / SIGNATURE: a list of `{id, name, url, mimeType, size}` dicts;
    - anything else: as sent, `None` when unanswered. `False`, `0` and `""` stay as they are.

    A source described from a form's questions (no submission) has `value=None`.
    """

    key: str
    label: str
    type: str
    value: Any
    options: tuple[ChoiceOption, ...] = ()
    rows: tuple[ChoiceOption, ...] = ()
    columns: tuple[ChoiceOption, ...] = ()

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    @property
    def payment_part(self) -> str | None:
        """`"email"` for `question_<id>_email` of a PAYMENT, etc.; None otherwise."""
        if self.type != "PAYMENT":
            return None
        part = self.key.rsplit("_", 1)[-1]
        return part if part in PAYMENT_PARTS else None


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------


def is_blank(value: Any) -> bool:
    """Whether a value counts as "not filled in": None, whitespace, an empty list or object.

    `0` and `False` are answers, never blank.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return False


def format_scalar(value: Any) -> str:
    """A scalar as text: booleans as Yes/No, 10.0 as "10", 0 as "0" (never dropped)."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if value is None:
        return ""
    return str(value)


def answer_index(answers: Iterable[Answer]) -> dict[str, Answer]:
    """Answers by key (the first one wins if a key repeats)."""
    index: dict[str, Answer] = {}
    for answer in answers:
        index.setdefault(answer.key, answer)
    return index


def selected_options(answer: Answer) -> tuple[ChoiceOption, ...]:
    """The chosen options of a choice answer, in answer order (unknown ids: text = id)."""
    if not isinstance(answer.value, list):
        return ()
    by_id = {o.id: o for o in answer.options}
    return tuple(by_id.get(str(i)) or ChoiceOption(str(i), str(i)) for i in answer.value)


def matrix_rows(answer: Answer) -> list[tuple[ChoiceOption, tuple[ChoiceOption, ...]]]:
    """A MATRIX answer as (row, chosen columns) in the form's row order; answered rows only."""
    value = answer.value if isinstance(answer.value, dict) else {}
    rows_by_id = {r.id: r for r in answer.rows}
    cols_by_id = {c.id: c for c in answer.columns}
    ordered = [r.id for r in answer.rows if r.id in value]
    ordered += [str(r) for r in value if str(r) not in rows_by_id]
    out = []
    for row_id in ordered:
        chosen = value.get(row_id) or []
        if is_blank(chosen):
            continue
        row = rows_by_id.get(row_id) or ChoiceOption(row_id, row_id)
        columns = tuple(cols_by_id.get(str(c)) or ChoiceOption(str(c), str(c)) for c in chosen)
        out.append((row, columns))
    return out


# ---------------------------------------------------------------------------------------
# From the webhook
# ---------------------------------------------------------------------------------------


def _options(raw: Any) -> tuple[ChoiceOption, ...]:
    """`[{id, text}]` (or bare strings) into ChoiceOptions; anything else is skipped."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("id") is not None:
            out.append(ChoiceOption(str(item["id"]), str(item.get("text") or "")))
        elif isinstance(item, str):
            out.append(ChoiceOption(item, item))
    return tuple(out)


def _choice_ids(value: Any, options: Sequence[ChoiceOption]) -> list[str] | None:
    """A choice value as a list of option ids.

    Tally sends a list of ids; MULTIPLE_CHOICE is sometimes a bare string id [seen]; the
    REST API may send option texts or `{id, text}` objects. Texts are turned back into ids
    when an option matches; anything unmatched is kept as given.
    """
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else [value]
    ids = {o.id for o in options}
    by_text = {}
    for o in options:
        by_text.setdefault(o.text, o.id)
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id", item.get("text"))
        if item is None:
            continue
        item = str(item)
        out.append(item if item in ids else by_text.get(item, item))
    return out


def _normalise_value(type_: str, value: Any, options: Sequence[ChoiceOption]) -> Any:
    if type_ in CHOICE_TYPES:
        return _choice_ids(value, options)
    if type_ == "MATRIX" and isinstance(value, dict):
        return {
            str(row): [
                str(c) for c in (cols if isinstance(cols, list) else [cols]) if c is not None
            ]
            for row, cols in value.items()
            if cols is not None
        }
    if type_ in FILE_TYPES and isinstance(value, dict):
        return [value]
    return value


def answers_from_webhook(data: Mapping[str, Any]) -> list[Answer]:
    """The answers of a FORM_RESPONSE, in Tally's order, from `data.fields`.

    Accepts the whole envelope or its `data`. Every field is kept, unanswered ones with
    `value=None`, except the per-option checkbox booleans (`<parent key>_<optionId>`,
    type CHECKBOXES, following their parent): they repeat the parent's answer. If the
    parent itself came without a value, it is rebuilt from those booleans.
    """
    inner = data.get("data") if isinstance(data.get("data"), Mapping) else data
    raw_fields = inner.get("fields") if isinstance(inner, Mapping) else None
    fields = [f for f in raw_fields or [] if isinstance(f, Mapping) and f.get("key")]

    answers: list[Answer] = []
    checkbox_parents: dict[str, _Parent] = {}
    ticked: dict[str, list[str]] = {}
    for item in fields:
        key, type_ = str(item["key"]), str(item.get("type") or "")
        parent = _checkbox_parent(key, type_, checkbox_parents)
        if parent is not None:
            if item.get("value") is True:
                ticked.setdefault(parent.key, []).append(key[len(parent.key) + 1 :])
            continue
        options = _options(item.get("options"))
        answer = Answer(
            key=key,
            label=str(item.get("label") or ""),
            type=type_,
            value=_normalise_value(type_, item.get("value"), options),
            options=options,
            rows=_options(item.get("rows")),
            columns=_options(item.get("columns")),
        )
        answers.append(answer)
        if type_ == "CHECKBOXES":
            seen = checkbox_parents.get(key)  # a repeated key keeps its place, as in a dict
            checkbox_parents[key] = _Parent(
                seen.order if seen else len(checkbox_parents),
                answer,
                frozenset(o.id for o in options),
            )
    return [_with_ticked(a, ticked.get(a.key)) for a in answers]


@dataclass(frozen=True)
class _Parent:
    """A CHECKBOXES answer that per-option boolean fields may follow."""

    order: int
    answer: Answer
    option_ids: frozenset[str]


def _checkbox_parent(key: str, type_: str, parents: Mapping[str, _Parent]) -> Answer | None:
    """The CHECKBOXES answer this field is a per-option boolean of, if it is one.

    Looks up each prefix of `key` that ends before a `_` rather than trying every parent:
    linear in the number of fields (thousands of checkbox fields would otherwise take
    minutes). Of several matching parents, the earliest (in Tally's order) wins.
    """
    if type_ != "CHECKBOXES":
        return None
    best: _Parent | None = None
    cut = key.find("_")
    while cut != -1:
        parent = parents.get(key[:cut])
        if (
            parent is not None
            and (not parent.option_ids or key[cut + 1 :] in parent.option_ids)
            and (best is None or parent.order < best.order)
        ):
            best = parent
        cut = key.find("_", cut + 1)
    return best.answer if best else None


def _with_ticked(answer: Answer, ticked: list[str] | None) -> Answer:
    if answer.value is not None or not ticked:
        return answer
    order: dict[str, int] = {}
    for position, option in enumerate(answer.options):
        order.setdefault(option.id, position)
    value = sorted(ticked, key=lambda i: order.get(i, len(answer.options)))
    return Answer(answer.key, answer.label, answer.type, value, answer.options)


# ---------------------------------------------------------------------------------------
# From the REST API
# ---------------------------------------------------------------------------------------

# Block types of the inputs of a choice question; a question's `fields` may list them, one
# per option, with the option id as `uuid` and its text as `title` [guess].
_OPTION_FIELD_TYPES = frozenset(
    {
        "CHECKBOX",
        "MULTIPLE_CHOICE_OPTION",
        "DROPDOWN_OPTION",
        "MULTI_SELECT_OPTION",
        "RANKING_OPTION",
    }
)


def _raw(obj: Any) -> dict[str, Any]:
    """A dict from a dict or from a client dataclass that keeps the vendor's dict in `raw`."""
    if isinstance(obj, Mapping):
        return dict(obj)
    raw = getattr(obj, "raw", None)
    return dict(raw) if isinstance(raw, Mapping) else {}


def _question_options(question: Mapping[str, Any], fields: list[dict]) -> tuple[ChoiceOption, ...]:
    options = _options(question.get("options"))
    if options:
        return options
    return tuple(
        ChoiceOption(str(f["uuid"]), str(f.get("title") or ""))
        for f in fields
        if f.get("uuid") and str(f.get("type") or "") in _OPTION_FIELD_TYPES
    )


def answers_from_questions(questions: Iterable[Any]) -> list[Answer]:
    """The inputs a form offers, as unanswered `Answer`s with the webhook's keys.

    `questions` is `GET /forms/{id}/questions`' list (`[{id, type, title, fields}]`), as
    dicts or as `TallyQuestion`s. Hidden/calculated fields give one answer per variable
    (`question_<id>_<field uuid>`), PAYMENT one per part, everything else one
    `question_<id>`. Options, rows and columns are filled when the question carries them.
    """
    out: list[Answer] = []
    for question in questions:
        q = _raw(question)
        qid = str(q.get("id") or "")
        if not qid:
            continue
        type_ = str(q.get("type") or "")
        title = str(q.get("title") or "")
        fields = [f for f in q.get("fields") or [] if isinstance(f, Mapping)]
        key = f"question_{qid}"
        if type_ in VARIABLE_TYPES:
            for f in fields:
                if f.get("uuid"):
                    out.append(Answer(f"{key}_{f['uuid']}", str(f.get("title") or ""), type_, None))
        elif type_ == "PAYMENT":
            out.extend(
                Answer(f"{key}_{part}", f"{title} ({part})", type_, None) for part in PAYMENT_PARTS
            )
        else:
            label = title or next((str(f.get("title")) for f in fields if f.get("title")), "")
            out.append(
                Answer(
                    key,
                    label,
                    type_,
                    None,
                    options=_question_options(q, fields),
                    rows=_options(q.get("rows")),
                    columns=_options(q.get("columns")),
                )
            )
    return out


_QUESTION_KEY = re.compile(r"^question_([^_]+)(?:_(.+))?$")


def answers_from_submission(submission: Any, questions: Iterable[Any]) -> list[Answer]:
    """The answers of a REST submission, with the same keys a webhook would use.

    `submission` is `{responses: [{questionId, answer | value}]}` (also wrapped as
    `{submission: {...}}`, or a `TallySubmission`); `questions` as for
    `answers_from_questions`. Accepted answer shapes, per question type:

    - choices: option ids, option texts, `{id, text}` objects, a bare string, or a list;
      when the questions carry no options, the texts become the options (id = text);
    - MATRIX: `{row id or text: [column ids or texts]}`;
    - HIDDEN_FIELDS / CALCULATED_FIELDS: `{variable name or uuid: value}`, a list of
      `{name|uuid|title, value}`, or a bare value for a single variable;
    - PAYMENT: `{price|amount, currency, name, email, link}`;
    - everything else: as the webhook sends it.

    Every question yields its answers (unanswered: `None`), in question order; responses to
    questions missing from `questions` are appended with the type they claim.
    """
    sub = _raw(submission)
    if isinstance(sub.get("submission"), Mapping):
        sub = dict(sub["submission"])
    given: dict[str, list[Any]] = {}
    for response in sub.get("responses") or []:
        r = _raw(response)
        qid = r.get("questionId")
        if qid is None:
            continue
        if "answer" in r:
            value = r["answer"]
        elif "value" in r:
            value = r["value"]
        else:
            value = r.get("formattedAnswer")
        given.setdefault(str(qid), []).append(value)

    out: list[Answer] = []
    seen: set[str] = set()
    for source in answers_from_questions(questions):
        match = _QUESTION_KEY.match(source.key)
        qid = match.group(1) if match else source.key
        seen.add(qid)
        values = [v for v in given.get(qid, []) if v is not None]
        out.append(_fill(source, values))
    for qid, values in given.items():
        if qid not in seen:
            value = next((v for v in values if v is not None), None)
            out.append(Answer(f"question_{qid}", "", "UNKNOWN", value))
    return out


def _fill(source: Answer, values: list[Any]) -> Answer:
    """`source` (from the questions) with its value taken from the REST answer(s)."""
    if not values:
        return source
    type_ = source.type
    if type_ in CHOICE_TYPES:
        flat: list[Any] = []
        for v in values:
            flat.extend(v if isinstance(v, list) else [v])
        options = source.options or _options_from_items(flat)
        return _replace(source, value=_choice_ids(flat, options), options=options)
    value = values[0]
    if type_ in VARIABLE_TYPES:
        return _replace(source, value=_variable_value(source, value))
    if type_ == "PAYMENT":
        return _replace(source, value=_payment_value(source, value))
    if type_ == "MATRIX" and isinstance(value, Mapping):
        return _matrix(source, value)
    return _replace(source, value=_normalise_value(type_, value, source.options))


def _replace(source: Answer, **changes: Any) -> Answer:
    fields = {
        "key": source.key,
        "label": source.label,
        "type": source.type,
        "value": source.value,
        "options": source.options,
        "rows": source.rows,
        "columns": source.columns,
    }
    fields.update(changes)
    return Answer(**fields)


def _options_from_items(items: list[Any]) -> tuple[ChoiceOption, ...]:
    """Options made from REST answer items when the question does not list them."""
    out: dict[str, ChoiceOption] = {}
    for item in items:
        if isinstance(item, Mapping) and item.get("id") is not None:
            option = ChoiceOption(str(item["id"]), str(item.get("text") or item["id"]))
        elif item is not None and not isinstance(item, Mapping | list):
            option = ChoiceOption(str(item), str(item))
        else:
            continue
        out.setdefault(option.id, option)
    return tuple(out.values())


def _variable_value(source: Answer, value: Any) -> Any:
    """One hidden/calculated variable's value out of the question's REST answer."""
    uuid = source.key.rsplit("_", 1)[-1]
    if isinstance(value, Mapping):
        for name in (source.label, uuid):
            if name in value:
                return value[name]
        return None
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping) and {
                str(item.get(k)) for k in ("name", "uuid", "title", "id")
            } & {source.label, uuid}:
                return item.get("value")
        return None
    return value


def _payment_value(source: Answer, value: Any) -> Any:
    part = source.payment_part
    if not isinstance(value, Mapping) or part is None:
        return value if part == "price" and isinstance(value, int | float) else None
    if part in value:
        return value[part]
    return value.get("amount") if part == "price" else None


def _matrix(source: Answer, value: Mapping[str, Any]) -> Answer:
    rows = source.rows or tuple(ChoiceOption(str(r), str(r)) for r in value)
    columns = source.columns
    if not columns:
        texts: dict[str, ChoiceOption] = {}
        for cols in value.values():
            for c in cols if isinstance(cols, list) else [cols]:
                if c is not None:
                    texts.setdefault(str(c), ChoiceOption(str(c), str(c)))
        columns = tuple(texts.values())
    normalised = {}
    for row, cols in value.items():
        if cols is None:
            continue
        row_ids = _choice_ids([row], rows) or [str(row)]
        normalised[row_ids[0]] = _choice_ids(cols, columns) or []
    return _replace(source, value=normalised, rows=rows, columns=columns)
