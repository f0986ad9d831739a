"""Whether a submission meets a mapping's condition, and why, in words staff read.

Each clause gives one sentence naming the question (the label saved with the rule, else the
answer's label, else its key) and the actual answer: `Plan is “Starter”, not “Enterprise”`.
A question missing from the submission counts as blank. A clause that can't be tested (an
unknown op, a number compare with a non-number) is false, and its sentence says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from integrations.tally.answers import Answer, answer_index, format_scalar, is_blank
from integrations.tally.display import display

from .choices import chosen
from .rules import CONDITION_OPS, Clause, Condition, Verdict
from .text import norm

NUMBER_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def quoted(text: Any) -> str:
    return f"“{text}”"


def evaluate(condition: Condition | None, answers: Sequence[Answer]) -> Verdict:
    """The condition's outcome for `answers`: its clauses joined by `all` or `any`; no
    condition or no clauses: matched."""
    if condition is None or not condition.clauses:
        return Verdict(matched=True)
    index = answer_index(answers)
    results = [test_clause(c, index) for c in condition.clauses]
    outcomes = tuple(ok for ok, _ in results)
    matched = any(outcomes) if condition.join == "any" else all(outcomes)
    return Verdict(matched=matched, reasons=tuple(r for _, r in results), outcomes=outcomes)


def parse_number(value: Any) -> float | None:
    """A number from Tally's numbers or a text like " 12.5 "; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def test_clause(clause: Clause, index: Mapping[str, Answer]) -> tuple[bool, str]:
    """One clause's result and its sentence."""
    answer = index.get(clause.source_key)
    label = clause.label or (answer.label if answer is not None else "") or clause.source_key
    if clause.op not in CONDITION_OPS:
        return False, f"{label}: unknown test {quoted(clause.op)}"
    blank = answer is None or is_blank(answer.value)
    if clause.op in ("is_empty", "not_empty"):
        matched = blank == (clause.op == "is_empty")
        return matched, _state(label, answer)
    if clause.op in NUMBER_OPS:
        return _compare(clause, label, answer)
    if answer is None or blank:
        # Blank never equals, contains or is one of anything; "is not" holds.
        return clause.op == "not_equals", _state(label, answer, _expected(clause))
    if clause.op == "contains":
        return _contains(clause, label, answer)
    wanted = _wanted(clause)
    found = _matches(answer, wanted)
    matched = found if clause.op in ("equals", "one_of") else not found
    shown = _shown(answer)
    if found:
        return matched, f"{label} is {shown}"
    return matched, f"{label} is {shown}, not {_expected(clause)}"


def _shown(answer: Answer) -> str:
    return quoted(" ".join((display(answer).text or "").split()))


def _state(label: str, answer: Answer | None, expected: str = "") -> str:
    """`X is not in this submission` / `X is empty[, not …]` / `X is “…”`."""
    if answer is None:
        return f"{label} is not in this submission"
    if is_blank(answer.value):
        return f"{label} is empty" + (f", not {expected}" if expected else "")
    return f"{label} is {_shown(answer)}"


def _wanted(clause: Clause) -> list[str]:
    if clause.op == "one_of":
        values = clause.value if isinstance(clause.value, list | tuple) else []
        return [format_scalar(v) for v in values]
    return [format_scalar(clause.value)]


def _expected(clause: Clause) -> str:
    wanted = ", ".join(quoted(v) for v in _wanted(clause))
    return f"one of {wanted}" if clause.op == "one_of" else wanted


def _matches(answer: Answer, wanted: Sequence[str]) -> bool:
    """Whether the answer is one of `wanted`: any chosen option's text or id for a choice,
    the display text otherwise; case-insensitive and trimmed."""
    keys = {norm(w) for w in wanted}
    if answer.is_choice or answer.options:
        return any(norm(o.text) in keys or norm(o.id) in keys for o in chosen(answer))
    return norm(display(answer).text or "") in keys


def _contains(clause: Clause, label: str, answer: Answer) -> tuple[bool, str]:
    needle = norm(format_scalar(clause.value))
    if answer.is_choice or answer.options:
        haystacks = [norm(o.text) for o in chosen(answer)]
    else:
        haystacks = [norm(display(answer).text or "")]
    matched = any(needle in h for h in haystacks)
    verb = "contains" if matched else "does not contain"
    shown = _shown(answer)
    return matched, f"{label} ({shown}) {verb} {quoted(format_scalar(clause.value))}"


def _compare(clause: Clause, label: str, answer: Answer | None) -> tuple[bool, str]:
    symbol = CONDITION_OPS[clause.op]
    limit = parse_number(clause.value)
    if limit is None:
        return False, (
            f"{label}: the rule compares with {quoted(format_scalar(clause.value))}, "
            "which is not a number"
        )
    if answer is None or is_blank(answer.value):
        return False, _state(label, answer)
    number = parse_number(answer.value)
    if number is None:
        number = parse_number(display(answer).text or "")
    if number is None:
        return False, f"{label} ({_shown(answer)}) is not a number"
    matched = NUMBER_OPS[clause.op](number, limit)
    verb = "is" if matched else "is not"
    return matched, f"{label} ({format_scalar(number)}) {verb} {symbol} {format_scalar(limit)}"
