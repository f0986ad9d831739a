"""Which Tally input the builder suggests for a kick-off field nobody has mapped yet.

A suggestion is only a hint shown next to the row ("suggested: Your email"): the operator
accepts it with one click or ignores it; nothing is saved from here. So it errs towards
silence: a field gets one only when a compatible input's label resembles its own, or the
input is the form's only one of the field's natural type, or its options mostly match.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from integrations.tally.answers import FILE_TYPES, Answer
from integrations.tallyfy.shapes import KickoffField

from .compatibility import compatible_sources
from .options import auto_match_options

# Tally types that are what a kick-off field type means, not merely what it can take.
NATURAL: dict[str, frozenset[str]] = {
    "text": frozenset({"INPUT_TEXT"}),
    "textarea": frozenset({"TEXTAREA"}),
    "email": frozenset({"INPUT_EMAIL"}),
    "date": frozenset({"INPUT_DATE"}),
    "radio": frozenset({"MULTIPLE_CHOICE", "DROPDOWN"}),
    "dropdown": frozenset({"MULTIPLE_CHOICE", "DROPDOWN"}),
    "multiselect": frozenset({"MULTI_SELECT", "CHECKBOXES"}),
    "table": frozenset({"MATRIX"}),
    "file": frozenset(FILE_TYPES),
    "assignees_form": frozenset({"INPUT_EMAIL"}),
}
# Types specific enough that the form's only input of that type is a fair guess by itself
# (a form has many text inputs, but usually one email or one date).
_TELLING_TYPES = frozenset({"email", "date", "file", "table", "assignees_form"})
# Words that say nothing about what a question asks.
_FILLER = frozenset({"your", "the", "a", "an", "of", "for", "to", "please", "enter", "what", "is"})
#: How alike two labels must be (0..1) to suggest on the label alone.
LABEL_THRESHOLD = 0.5


@dataclass(frozen=True)
class Suggestion:
    source: Answer
    reason: str  # why, in a few words: "label", "type" or "options"


def _words(label: str) -> list[str]:
    words = re.findall(r"[^\W_]+", label.casefold())
    return [w for w in words if w not in _FILLER] or words


def _same_word(a: str, b: str) -> bool:
    # A shared stem of five letters counts ("Describe" / "Description").
    return a == b or (len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5])


def label_similarity(a: str, b: str) -> float:
    """How alike two labels read, 0..1: the words they share (Dice), or the letters when
    that is higher (a typo, a plural)."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    shared = sum(1 for w in wa if any(_same_word(w, v) for v in wb))
    words = 2 * shared / (len(wa) + len(wb))
    letters = difflib.SequenceMatcher(None, " ".join(wa), " ".join(wb)).ratio()
    return max(words, letters if letters >= 0.8 else 0.0)


def _option_overlap(field: KickoffField, source: Answer) -> float:
    if not field.options or not source.options:
        return 0.0
    matched = auto_match_options(source.options, field.options)["matched"]
    return len(matched) / len(field.options)


def suggest_source(
    field: KickoffField, sources: Sequence[Answer], taken: Collection[str] = ()
) -> Suggestion | None:
    """The compatible input most likely meant to fill `field`, or None when no input is a
    fair guess or two are equally good. Inputs whose key is in `taken` (already filling
    another row) are not suggested."""
    natural = NATURAL.get(field.field_type, frozenset())
    candidates = [s for s in compatible_sources(field, sources) if s.key not in taken]
    natural_ones = [s for s in candidates if s.type in natural]
    scored: list[tuple[float, Suggestion]] = []
    for source in candidates:
        label = label_similarity(field.label, source.label or source.key)
        options = _option_overlap(field, source)
        is_natural = source.type in natural
        if label >= LABEL_THRESHOLD:
            reason = "label"
        elif options >= 0.5:
            reason = "options"
        elif is_natural and len(natural_ones) == 1 and field.field_type in _TELLING_TYPES:
            reason = "type"
        else:
            continue
        score = label + options + (0.25 if is_natural else 0.0)
        scored.append((score, Suggestion(source, reason)))
    if not scored:
        return None
    scored.sort(key=lambda pair: pair[0], reverse=True)
    if len(scored) > 1 and scored[0][0] - scored[1][0] < 0.05:
        return None  # a coin toss is not a suggestion
    return scored[0][1]
