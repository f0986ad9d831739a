"""Tally's chosen options matched to a Tallyfy field's options (exact text, then loose)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrations.tally.answers import ChoiceOption
from integrations.tallyfy.shapes import Option

from .text import norm


def find_option(text: str, options: Sequence[Option]) -> Option | None:
    """Tallyfy's option for `text`: exact text, then case-insensitive trimmed (only when
    unambiguous), then by option id. Tallyfy compares text exactly, so callers send the
    returned option's own text."""
    for option in options:
        if option.text == text:
            return option
    loose = [o for o in options if norm(o.text) == norm(text)]
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
    loose = [v for k, v in option_map.items() if norm(k) == norm(tally_text)]
    return loose[0] if len(loose) == 1 else None


def auto_match_options(
    tally_options: Sequence[ChoiceOption], tallyfy_options: Sequence[Option]
) -> dict[str, Any]:
    """Pair a Tally question's options with a Tallyfy field's, for the mapping builder.

    Exact text first, then case-insensitive trimmed; each Tallyfy option is used once.
    Returns `{"matched": {tally option id: tallyfy text}` (ready to save as an option map),
    `"pairs": [(ChoiceOption, Option)]`, `"unmatched": [ChoiceOption]` (Tally options with no
    counterpart) and `"unused": [Option]` (Tallyfy options nobody chose)}.
    """
    tally = list(tally_options)
    tallyfy = list(tallyfy_options)
    pairs: dict[int, Option] = {}
    used: set[int] = set()
    for key in (str, norm):
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
