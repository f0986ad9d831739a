"""A form's inputs as its stored webhook payloads show them, merged with its REST questions.

Tally's REST questions do not always say what a webhook will carry: one published shape is
`{id, type, title, fields}`, another `{uuid, type, title}` with no `id` (so no webhook key
can be derived), and choice options live in the form's blocks, which may carry none. Every
FORM_RESPONSE webhook, on the other hand, lists each input with its `key`, `label`, `type`
and, for choices, `options:[{id, text}]` (docs/vendor-notes.md, "Where the sources
disagree"). So what Kickoff has received for a form is the best evidence of its inputs, and
the REST questions fill in what no submission has shown yet.

Pure functions (no ORM, no HTTP): callers hand in the parsed payloads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .answers import Answer, ChoiceOption, answers_from_webhook, is_blank


@dataclass(frozen=True)
class Learned:
    """The inputs seen in `payloads` webhook bodies, with the newest answer to each."""

    fields: list[Answer]
    samples: dict[str, Any] = field(default_factory=dict)
    payloads: int = 0

    def sample(self, key: str) -> Any:
        return self.samples.get(key)


def _union(first: Sequence[ChoiceOption], more: Iterable[ChoiceOption]) -> tuple[ChoiceOption, ...]:
    """`first`'s options, then those of `more` whose id is not among them yet."""
    out = list(first)
    ids = {o.id for o in out}
    for option in more:
        if option.id not in ids:
            ids.add(option.id)
            out.append(option)
    return tuple(out)


def fields_from_payloads(payloads: Iterable[Mapping[str, Any]]) -> Learned:
    """Every input the given FORM_RESPONSE bodies carry, newest first.

    Labels and types come from the newest payload that has the key (labels may change);
    options, rows and columns are the union over all payloads (each submission lists the
    options as they were when it was sent); a sample is the newest non-blank answer.
    """
    by_key: dict[str, Answer] = {}
    samples: dict[str, Any] = {}
    count = 0
    for payload in payloads:
        count += 1
        for answer in answers_from_webhook(payload):
            if answer.key not in samples and not is_blank(answer.value):
                samples[answer.key] = answer.value
            known = by_key.get(answer.key)
            if known is None:
                by_key[answer.key] = replace(answer, value=None)
                continue
            by_key[answer.key] = replace(
                known,
                options=_union(known.options, answer.options),
                rows=_union(known.rows, answer.rows),
                columns=_union(known.columns, answer.columns),
            )
    return Learned(fields=list(by_key.values()), samples=samples, payloads=count)


def merge_sources(rest: Sequence[Answer], learned: Sequence[Answer]) -> list[Answer]:
    """The form's inputs: the REST questions' in their order, then any only webhooks showed.

    A key both know keeps the REST label (the form as it is now) unless it has none, and
    gets the options, rows and columns of both.
    """
    seen = {a.key: a for a in learned}
    out = []
    for answer in rest:
        other = seen.pop(answer.key, None)
        if other is None:
            out.append(answer)
            continue
        out.append(
            replace(
                answer,
                label=answer.label or other.label,
                type=answer.type or other.type,
                options=_union(answer.options, other.options),
                rows=_union(answer.rows, other.rows),
                columns=_union(answer.columns, other.columns),
            )
        )
    out.extend(seen.values())
    return out
