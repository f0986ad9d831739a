"""The sandbox Tally's variant switches: one per point where Tally's sources disagree.

Each switch starts at its setting (environment) and can be flipped from the home page or
`/control/switches`; a flip is a row, stored like faults, so a test can flip one per test
and a reset puts every switch back to its setting. The first value of each switch is the
default and keeps the sandbox's earlier behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .models import Switch


@dataclass(frozen=True)
class Variant:
    """One switch: its name, the setting it starts from, its values and what each means."""

    name: str
    setting: str
    values: tuple[str, ...]
    meanings: tuple[str, ...]
    title: str

    @property
    def default(self) -> str:
        """The first value: the sandbox's earlier behaviour."""
        return self.values[0]


# Docs: developers.tally.so API reference vs a gateway's reference (docs/vendor-notes.md,
# "Where the sources disagree").
QUESTIONS_SHAPE = Variant(
    "questions_shape",
    "SANDBOX_TALLY_QUESTIONS_SHAPE",
    ("fields", "uuid"),
    (
        "{id, type, title, fields:[{uuid, type, blockGroupUuid, title}]}",
        "{uuid, type, title}: no id, no fields (responses name questions by that uuid)",
    ),
    "Questions shape",
)
# Docs: the REST page says `answer`, the reference page `value`.
ANSWER_KEY = Variant(
    "answer_key",
    "SANDBOX_TALLY_ANSWER_KEY",
    ("answer", "value"),
    ("responses carry answer", "responses carry value"),
    "Submission answer key",
)
# Docs: "Get submissions after this ID (cursor pagination)", direction unstated.
AFTER_ID = Variant(
    "after_id",
    "SANDBOX_TALLY_AFTER_ID",
    ("newer", "older"),
    (
        "afterId returns submissions newer than the id",
        "afterId returns submissions older than the id (follows the newest-first order)",
    ),
    "Submissions afterId",
)
BLOCK_OPTIONS = Variant(
    "block_options",
    "SANDBOX_TALLY_BLOCK_OPTIONS",
    ("with", "without"),
    (
        "form blocks carry each choice option",
        "form blocks carry no options (only webhook payloads name them)",
    ),
    "Choice options in form blocks",
)
WEBHOOK_EVENTS = Variant(
    "webhook_events",
    "SANDBOX_TALLY_WEBHOOK_EVENTS",
    ("listed", "missing"),
    ("GET /webhooks/{id}/events lists the log", "GET /webhooks/{id}/events answers 404"),
    "Webhook event log",
)

VARIANTS = (QUESTIONS_SHAPE, ANSWER_KEY, AFTER_ID, BLOCK_OPTIONS, WEBHOOK_EVENTS)
BY_NAME = {v.name: v for v in VARIANTS}


def current(variant: Variant) -> str:
    """The switch's value now: a flipped row, else its setting, else its default."""
    row = Switch.objects.filter(name=variant.name).values_list("value", flat=True).first()
    if row in variant.values:
        return row
    configured = getattr(settings, variant.setting, variant.default)
    return configured if configured in variant.values else variant.default


def flip(name: str, value: str) -> str | None:
    """Set one switch; the problem with the request, or None."""
    variant = BY_NAME.get(name)
    if variant is None:
        return f"unknown switch {name!r}: one of {', '.join(BY_NAME)}"
    if value not in variant.values:
        return f"{name} must be one of {', '.join(variant.values)}"
    Switch.objects.update_or_create(name=name, defaults={"value": value})
    return None


def clear() -> None:
    """Every switch back to its setting."""
    Switch.objects.all().delete()


def state() -> list[dict]:
    """Every switch with its value, setting, allowed values and their meanings."""
    return [
        {
            "name": v.name,
            "title": v.title,
            "setting": v.setting,
            "value": current(v),
            "default": getattr(settings, v.setting, v.default),
            "values": [
                {"value": x, "meaning": m} for x, m in zip(v.values, v.meanings, strict=True)
            ],
        }
        for v in VARIANTS
    ]
