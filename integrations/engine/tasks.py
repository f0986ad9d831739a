"""Completing a task: a follow-up submission's answers -> the values of one step's task form
fields (captures) and, for an approval step, the decision; plus the run it belongs to.

Captures have the kick-off fields' shape and are filled exactly like a launch's prerun
(`fill`): same rules, encoders, option tables, blank and default handling. The decision is
never guessed: an answer that neither approves nor rejects (or does both) blocks the
completion with a problem staff can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from integrations.tally.answers import Answer, ChoiceOption, answer_index, format_scalar
from integrations.tallyfy.shapes import KickoffField

from .checks import validate_rules
from .choices import chosen
from .conditions import quoted
from .fill import fill_fields
from .rules import (
    APPROVAL,
    INVALID,
    UNDECIDED,
    UNDECIDED_OPTION,
    UNKNOWN_DECISION,
    UNKNOWN_SOURCE,
    ApprovalRule,
    MappingSpec,
    Problem,
    TaskPlan,
)
from .text import norm

APPROVAL_LABEL = "Approval"


def build_task(
    spec: MappingSpec,
    answers: Sequence[Answer],
    captures: Sequence[KickoffField],
    *,
    context: Mapping[str, Any] | None = None,
    is_approval: bool = False,
) -> TaskPlan:
    """What completing the step's task sends for one submission, and every problem.

    `values` is keyed by capture id and encoded like a launch's prerun. `is_approved` is
    None unless `is_approval`; then it comes from `spec.approval`, and no decision (no
    rule, a blank answer, an answer in neither or both lists) is a blocking `UNDECIDED`.
    """
    answers = list(answers)
    index = answer_index(answers)
    problems: list[Problem] = []
    values = fill_fields(spec.rules, captures, answers, index, context or {}, problems)
    is_approved = None
    if is_approval:
        is_approved, problem = decide_approval(spec.approval, index)
        if problem is not None:
            problems.append(problem)
    return TaskPlan(values=values, is_approved=is_approved, problems=problems)


def decide_approval(
    rule: ApprovalRule | None, index: Mapping[str, Answer]
) -> tuple[bool | None, Problem | None]:
    """Approve (True) or reject (False) from the answer `rule` names; None with the reason.

    Any chosen option whose id or text (case-insensitive, trimmed) is an `approve` entry
    approves; likewise for `reject`. A text answer is compared by its display text.
    """
    if rule is None:
        return None, _undecided(
            "This step is an approval but the mapping has no decision rule: choose the "
            "question whose answer approves or rejects."
        )
    answer = index.get(rule.source_key)
    if answer is None:
        return None, _undecided(
            f"{APPROVAL_LABEL}: Tally field {rule.source_key!r} is not in this submission, "
            "so nothing approves or rejects."
        )
    name = answer.label or rule.source_key
    options = chosen(answer)
    if not options:
        return None, _undecided(f"{name} is blank: it neither approves nor rejects.")
    shown = quoted(", ".join(o.text for o in options))
    approve_words = _entries(rule.approve, answer.options)
    reject_words = _entries(rule.reject, answer.options)
    approves = any(_listed(o, rule.approve) for o in options)
    rejects = any(_listed(o, rule.reject) for o in options)
    if approves and rejects:
        return None, _undecided(
            f"{name} is {shown}: it is both an approve answer ({approve_words}) "
            f"and a reject answer ({reject_words})."
        )
    if approves or rejects:
        return approves, None
    return None, _undecided(
        f"{name} is {shown}: it is neither an approve answer ({approve_words}) "
        f"nor a reject answer ({reject_words})."
    )


def validate_task_spec(
    spec: MappingSpec,
    captures: Sequence[KickoffField],
    sources: Sequence[Answer],
    *,
    is_approval: bool,
) -> list[Problem]:
    """What is wrong with a "Complete a task" mapping before any submission arrives: the
    capture rules checked as a launch's kick-off rules (`validate_rules`), then, for an
    approval step, the decision rule. A decision rule on a step that is no approval is not
    used, and not checked."""
    problems = validate_rules(spec.rules, captures, sources)
    if is_approval:
        problems += approval_problems(spec.approval, sources)
    return problems


def approval_problems(rule: ApprovalRule | None, sources: Sequence[Answer]) -> list[Problem]:
    """An approval step's decision rule checked against the form's questions."""
    if rule is None:
        return [
            _undecided(
                "This step is an approval: choose the question whose answer approves or "
                "rejects, or every submission will fail."
            )
        ]
    if not rule.source_key:
        return [_approval(INVALID, "no Tally field chosen.")]
    source = answer_index(sources).get(rule.source_key)
    if source is None:
        return [
            _approval(UNKNOWN_SOURCE, f"Tally field {rule.source_key!r} is no longer in the form.")
        ]
    if not rule.approve and not rule.reject:
        return [_approval(INVALID, "no answer approves or rejects: every submission will fail.")]
    problems = [
        _approval(INVALID, f"{quoted(entry)} is both an approve and a reject answer.")
        for entry in _dedupe(rule.approve)
        if any(norm(entry) == norm(other) for other in rule.reject)
    ]
    if source.options:
        name = source.label or rule.source_key
        for entry in _dedupe((*rule.approve, *rule.reject)):
            if not any(_listed(o, (entry,)) for o in source.options):
                problems.append(
                    _approval(
                        UNKNOWN_DECISION,
                        f"{quoted(entry)} is not an option of {name}: it never matches.",
                    )
                )
        for option in source.options:
            if not _listed(option, rule.approve) and not _listed(option, rule.reject):
                problems.append(
                    _approval(
                        UNDECIDED_OPTION,
                        f"{quoted(option.text)} neither approves nor rejects: such a "
                        "submission will fail.",
                    )
                )
    return problems


def _listed(option: ChoiceOption, entries: Iterable[str]) -> bool:
    keys = {norm(option.id), norm(option.text)}
    return any(norm(entry) in keys for entry in entries)


def _entries(entries: Sequence[str], options: Sequence[ChoiceOption]) -> str:
    """The entries for a message: an option id shown as its option's text."""
    texts = {o.id: o.text for o in options}
    return ", ".join(texts.get(e, e) for e in entries) or "none"


def _dedupe(entries: Iterable[str]) -> list[str]:
    """`entries` without repeats (compared like answers), first spelling kept."""
    kept: dict[str, str] = {}
    for entry in entries:
        kept.setdefault(norm(entry), entry)
    return list(kept.values())


def _undecided(message: str) -> Problem:
    return Problem(APPROVAL, APPROVAL_LABEL, UNDECIDED, message)


def _approval(code: str, message: str) -> Problem:
    return Problem(APPROVAL, APPROVAL_LABEL, code, f"{APPROVAL_LABEL}: {message}")


# --- Which run a follow-up submission completes -------------------------------------------


def echoed_values(prerun: Any) -> dict[str, Any]:
    """A run's kick-off values as {field id: value}: Tallyfy echoes an object keyed by id or
    a list of fields with `id` and `value`."""
    if isinstance(prerun, Mapping):
        return {str(k): v for k, v in prerun.items()}
    out: dict[str, Any] = {}
    for item in prerun if isinstance(prerun, list) else []:
        if isinstance(item, Mapping) and item.get("id") is not None:
            out.setdefault(str(item["id"]), item.get("value"))
    return out


def value_texts(value: Any) -> list[str]:
    """The texts of one echoed kick-off value: a text or number as is, a choice by its
    option text (`{id, text}`, or a list of them; unselected ones left out)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        if value.get("selected") is False:
            return []
        for key in ("text", "value"):
            if key in value:
                return value_texts(value[key])
        return []
    if isinstance(value, list | tuple):
        return [text for item in value for text in value_texts(item)]
    return [format_scalar(value)]


def match_runs(runs: Iterable[Any], *, field_id: str, answer_text: str) -> list[Any]:
    """The runs whose kick-off field `field_id` holds `answer_text` (case-insensitive,
    trimmed; a choice by its option text, a multi-select when any option does), newest
    first (runs without `created_at` last). A blank answer matches no run."""
    wanted = norm(answer_text or "")
    if not wanted:
        return []
    found = [
        run
        for run in runs
        if any(
            norm(text) == wanted
            for text in value_texts(echoed_values(getattr(run, "prerun", None)).get(field_id))
        )
    ]
    dated = [r for r in found if getattr(r, "created_at", None) is not None]
    undated = [r for r in found if getattr(r, "created_at", None) is None]
    return sorted(dated, key=lambda r: r.created_at, reverse=True) + undated


def followup_link(base_url: str, form_id: str, params: Mapping[str, Any]) -> str:
    """The follow-up form's address, its hidden fields prefilled: `base_url` is where forms
    open (`https://tally.so/r`, settings.TALLY_FORMS_BASE_URL), so the link reads
    `https://tally.so/r/<form id>?kickoff_ref=…&run_id=…`. Params with no value are left
    out (Tally would prefill them blank)."""
    kept = [
        (str(key), str(value))
        for key, value in params.items()
        if value is not None and str(value).strip()
    ]
    url = f"{base_url.rstrip('/')}/{quote(form_id, safe='')}"
    # %20 for spaces, not "+": every URL parser reads %20 as a space, not all read "+".
    query = urlencode(kept, quote_via=quote)
    return f"{url}?{query}" if query else url
