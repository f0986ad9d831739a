"""Drift: what changed between two snapshots of a template's kick-off fields and a form's
questions, in sentences for the operator."""

from __future__ import annotations

from collections.abc import Sequence

from integrations.tally.answers import Answer, answer_index
from integrations.tallyfy.shapes import KickoffField


def drift(
    old_fields: Sequence[KickoffField],
    new_fields: Sequence[KickoffField],
    old_sources: Sequence[Answer],
    new_sources: Sequence[Answer],
) -> list[str]:
    """What changed between two snapshots of a template's kick-off fields and a form's
    questions (as empty answers), one sentence per difference (Tallyfy fields by id, Tally
    fields by key)."""
    out = _field_drift(old_fields, new_fields)
    out += _question_drift(old_sources, new_sources)
    return out


def _field_drift(old: Sequence[KickoffField], new: Sequence[KickoffField]) -> list[str]:
    out: list[str] = []
    before, after = {f.id: f for f in old}, {f.id: f for f in new}
    for f in old:
        if f.id not in after:
            out.append(f'Kick-off field "{f.label}" was removed.')
    for f in new:
        was = before.get(f.id)
        if was is None:
            kind = "required kick-off field" if f.required else "kick-off field"
            out.append(f'New {kind} "{f.label}" ({f.field_type}).')
            continue
        if was.label != f.label:
            out.append(f'Kick-off field "{was.label}" was renamed to "{f.label}".')
        if was.field_type != f.field_type:
            out.append(
                f'Kick-off field "{f.label}" changed type from {was.field_type} to {f.field_type}.'
            )
        if was.required != f.required:
            out.append(
                f'Kick-off field "{f.label}" is {"now" if f.required else "no longer"} required.'
            )
        out += _choices_drift(
            f'kick-off field "{f.label}"',
            [(str(o.id), o.text) for o in was.options],
            [(str(o.id), o.text) for o in f.options],
            "Option",
        )
        out += _choices_drift(
            f'table "{f.label}"',
            [(str(c.id), c.label) for c in was.columns],
            [(str(c.id), c.label) for c in f.columns],
            "Column",
        )
    return out


def _question_drift(old: Sequence[Answer], new: Sequence[Answer]) -> list[str]:
    out: list[str] = []
    before, after = answer_index(old), answer_index(new)
    for s in old:
        if s.key not in after:
            out.append(f'Tally field "{s.label}" ({s.key}) was removed from the form.')
    for s in new:
        was = before.get(s.key)
        if was is None:
            out.append(f'New Tally field "{s.label}" ({s.key}, {s.type}).')
            continue
        if was.label != s.label:
            out.append(f'Tally field "{was.label}" ({s.key}) was renamed to "{s.label}".')
        if was.type != s.type:
            out.append(
                f'Tally field "{s.label}" ({s.key}) changed type from {was.type} to {s.type}.'
            )
        if was.options and s.options:
            out += _choices_drift(
                f'Tally field "{s.label}"',
                [(o.id, o.text) for o in was.options],
                [(o.id, o.text) for o in s.options],
                "Option",
            )
    return out


def _choices_drift(
    where: str, old: list[tuple[str, str]], new: list[tuple[str, str]], noun: str
) -> list[str]:
    out: list[str] = []
    before, after = dict(old), dict(new)
    for key, text in old:
        if key not in after:
            out.append(f'{noun} "{text}" was removed from {where}.')
        elif after[key] != text:
            out.append(f'{noun} "{text}" of {where} was renamed to "{after[key]}".')
    for key, text in new:
        if key not in before:
            out.append(f'{noun} "{text}" was added to {where}.')
    return out
