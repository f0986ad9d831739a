"""What a choice answer chose, looked up in a launch rule's table (people, tags).

The tables are keyed the way the builder saves them: by Tally option id, or by option text
when the option had no id (or the staff typed it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from integrations.tally.answers import Answer, ChoiceOption, is_blank, selected_options
from integrations.tally.display import display

from .rules import MISSING_SOURCE, TAGS, MappingSpec, Problem
from .text import norm

T = TypeVar("T")


def option_lookup(option_map: Mapping[str, T], option_id: str | None, text: str) -> T | None:
    """The row for one chosen option: by option id, then exact text, then case-insensitive
    trimmed text (only when exactly one row matches that way). None: no row."""
    for key in (option_id, text):
        if key is not None and key in option_map:
            return option_map[key]
    loose = [value for key, value in option_map.items() if norm(key) == norm(text)]
    return loose[0] if len(loose) == 1 else None


def chosen(answer: Answer | None) -> tuple[ChoiceOption, ...]:
    """The options an answer chose. A non-choice answer (a text, a hidden field) counts as
    one option whose id and text are its display text; blank or missing: none."""
    if answer is None or is_blank(answer.value):
        return ()
    if answer.is_choice or answer.options:
        return selected_options(answer)
    text = display(answer).text or ""
    return (ChoiceOption(text, text),) if text.strip() else ()


def unmapped(options: Sequence[ChoiceOption], option_map: Mapping[str, object]) -> list[str]:
    """The texts of `options` the table has no row for, in order."""
    return [o.text for o in options if option_lookup(option_map, o.id, o.text) is None]


def rule_tags(spec: MappingSpec, index: Mapping[str, Answer], problems: list[Problem]) -> list[str]:
    """The constant tags, then the tags the chosen options give, de-duplicated in order. An
    option with no row simply gives no tag."""
    tags = list(dict.fromkeys(spec.tags))
    for rule in spec.tag_rules:
        answer = index.get(rule.source_key)
        if answer is None:
            problems.append(
                Problem(
                    TAGS,
                    "Tags",
                    MISSING_SOURCE,
                    f"Tags: Tally field {rule.source_key!r} is not in this submission.",
                )
            )
            continue
        for option in chosen(answer):
            for tag in option_lookup(rule.option_map, option.id, option.text) or ():
                if tag not in tags:
                    tags.append(tag)
    return tags
