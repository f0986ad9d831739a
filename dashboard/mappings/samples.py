"""What recent submissions answered to each Tally input, for the builder: a few sample
answers beside a chosen source, and how often it came empty (a required kick-off field fed
by it would then need a fallback)."""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.engine import is_empty
from integrations.engine.text import truncate
from integrations.models import Mapping
from integrations.selectors.payloads import form_payloads
from integrations.tally.answers import answer_index, answers_from_webhook
from integrations.tally.display import display

#: Submissions the empty count looks at ("N of the last 30 submissions left it empty").
EMPTY_WINDOW = 30
SAMPLES_SHOWN = 3
SAMPLE_CHARS = 60


@dataclass
class SourceSamples:
    samples: list[str] = field(default_factory=list)  # newest first, non-empty, cut short
    empty: int = 0  # of the newest `seen` submissions, how many left it empty
    seen: int = 0


def form_samples(mapping: Mapping) -> dict[str, SourceSamples]:
    """Per input key, from the form's stored webhook bodies (newest first). A body without
    the key counts as leaving it empty: Tally sends no field for a question skipped by
    its logic."""
    bodies = form_payloads(tally_connection_id=mapping.tally_connection_id, form_id=mapping.form_id)
    window = min(len(bodies), EMPTY_WINDOW)
    out: dict[str, SourceSamples] = {}
    filled: dict[str, int] = {}
    for n, body in enumerate(bodies):
        for key, answer in answer_index(answers_from_webhook(body)).items():
            found = out.setdefault(key, SourceSamples())
            if answer.value is None or is_empty(answer.value):
                continue
            if n < EMPTY_WINDOW:
                filled[key] = filled.get(key, 0) + 1
            if len(found.samples) < SAMPLES_SHOWN:
                text = display(answer).text
                if text:
                    found.samples.append(truncate(text, SAMPLE_CHARS))
    for key, found in out.items():
        found.seen, found.empty = window, window - filled.get(key, 0)
    return out
