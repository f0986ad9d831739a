"""`{placeholder}`s in the process name, the summary and template rules: which exist, and how
they render.

`{{` and `}}` are literal braces. A placeholder is looked up as a Tally field key
(`{question_3EKz4n}`), then as a `context` key (what the delivery pipeline passes, see
`CONTEXT_PLACEHOLDERS`), then as a label when exactly one answer has it (`{Company name}`;
exact, then case-insensitive). It renders as the answer's display text (option texts, "0",
"No"); unknown or ambiguous ones render empty and are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from integrations.tally.answers import Answer, answer_index, display, format_scalar

from .rules import UNKNOWN_PLACEHOLDER, Problem
from .text import norm

# Keys the delivery pipeline may pass as `context` to build_launch (all optional).
CONTEXT_PLACEHOLDERS: tuple[str, ...] = (
    "form_id",
    "form_name",
    "submission_id",
    "respondent_id",
    "submitted_at",
)

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
            by_loose_label.setdefault(norm(answer.label), []).append(answer)

    def lookup(name: str) -> str | None:
        if name in index:
            return display(index[name]).text or ""
        if name in context:
            return "" if context[name] is None else format_scalar(context[name])
        for found in (by_label.get(name), by_loose_label.get(norm(name))):
            if found and len(found) == 1:
                return display(found[0]).text or ""
            if found:
                return None  # a label several fields share: ambiguous
        return None

    return lookup


def is_known_placeholder(name: str, sources: Sequence[Answer]) -> bool:
    if name in CONTEXT_PLACEHOLDERS or any(s.key == name for s in sources):
        return True
    exact = [s for s in sources if s.label and s.label.strip() == name]
    loose = [s for s in sources if s.label and norm(s.label) == norm(name)]
    return len(exact) == 1 or (not exact and len(loose) == 1)


def unmatched_placeholders(where: str, label: str, names: Iterable[str]) -> list[Problem]:
    """A warning per `{placeholder}` a template used that no answer filled."""
    return [
        Problem(where, label, UNKNOWN_PLACEHOLDER, f"{label}: {{{name}}} matches no Tally field.")
        for name in names
    ]
