"""`{placeholder}`s in the process name, the summary and template rules: which exist, and how
they render. Both the launch and the checks go through `PlaceholderLookup`.

`{{` and `}}` are literal braces. A placeholder is looked up as a Tally field key
(`{question_3EKz4n}`), then as a `context` key (what the delivery pipeline passes, see
`CONTEXT_PLACEHOLDERS`), then as a label when exactly one answer has it (`{Company name}`;
exact, then case-insensitive). It renders as the answer's display text (option texts, "0",
"No"); unknown or ambiguous ones render empty and are reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from integrations.tally.answers import Answer, answer_index, format_scalar
from integrations.tally.display import display

from .rules import UNKNOWN_PLACEHOLDER, Problem
from .text import norm

# Keys the delivery pipeline may pass as `context` to build_launch (all optional).
CONTEXT_PLACEHOLDERS: tuple[str, ...] = (
    "form_id",
    "form_name",
    "submission_id",
    "respondent_id",
    "submitted_at",
    # A launch mapping's follow-up form link, prefilled with the delivery's reference.
    "followup_link",
)

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def placeholders(template: str) -> list[str]:
    """The placeholder names in `template`, in order (`{{`/`}}` are literal braces)."""
    return [
        m.group(1).strip() for m in _PLACEHOLDER.finditer(template or "") if m.group(1) is not None
    ]


class PlaceholderLookup:
    """What each placeholder name points to among some answers and context keys."""

    def __init__(self, answers: Sequence[Answer], context_keys: Iterable[str]) -> None:
        self._by_key = answer_index(answers)
        self._context_keys = frozenset(context_keys)
        self._by_label: dict[str, list[Answer]] = {}
        self._by_loose_label: dict[str, list[Answer]] = {}
        for answer in answers:
            if answer.label:
                self._by_label.setdefault(answer.label.strip(), []).append(answer)
                self._by_loose_label.setdefault(norm(answer.label), []).append(answer)

    def find(self, name: str) -> Answer | str | None:
        """The answer `name` names, else the context key it is, else None (unknown, or a
        label several fields share)."""
        if name in self._by_key:
            return self._by_key[name]
        if name in self._context_keys:
            return name
        for found in (self._by_label.get(name), self._by_loose_label.get(norm(name))):
            if found:
                return found[0] if len(found) == 1 else None
        return None

    def unknown_in(self, template: str) -> list[str]:
        """The placeholders of `template` that point to nothing, in order."""
        return [name for name in placeholders(template) if self.find(name) is None]


def render_template(
    template: str, answers: Sequence[Answer], context: Mapping[str, Any] | None = None
) -> tuple[str, list[str]]:
    """`template` with each placeholder replaced by its answer's display text.

    Returns the text and the placeholders that matched nothing (rendered empty).
    """
    context = context or {}
    lookup = PlaceholderLookup(answers, context.keys())
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        name = match.group(1).strip()
        found = lookup.find(name)
        if found is None:
            unknown.append(name)
            return ""
        if isinstance(found, str):
            return "" if context[found] is None else format_scalar(context[found])
        return display(found).text or ""

    return _PLACEHOLDER.sub(replace, template or ""), unknown


def unmatched_placeholders(where: str, label: str, names: Iterable[str]) -> list[Problem]:
    """A warning per `{placeholder}` a rendered template used that no answer filled."""
    return [
        Problem(where, label, UNKNOWN_PLACEHOLDER, f"{label}: {{{name}}} matches no Tally field.")
        for name in names
    ]


def unknown_placeholders(
    where: str, label: str, template: str, lookup: PlaceholderLookup
) -> list[Problem]:
    """A warning per `{placeholder}` of a saved template that no form field or context key
    can ever fill."""
    return [
        Problem(
            where,
            label,
            UNKNOWN_PLACEHOLDER,
            f"{label}: {{{name}}} is not a Tally field key or a unique label.",
        )
        for name in lookup.unknown_in(template)
    ]
