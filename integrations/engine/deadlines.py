"""By when: a mapping's deadline rules -> each step's `deadline` in the launch body.

A date answer (Tally sends `YYYY-MM-DD`; an ISO date-time counts by the day it names) plus
`offset_days`, at `time_of_day` UTC; or the submission time plus `offset_days`, its time
kept. Tallyfy's docs show two encodings (`2025-03-01T17:00:00.000Z` and
`2025-03-01 17:00:00`), so the caller picks one with `deadline_format`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from integrations.tally.answers import Answer, is_blank
from integrations.tally.display import display

from .conditions import quoted
from .rules import (
    BAD_DEADLINE,
    DEADLINE_PREFIX,
    DUPLICATE,
    INVALID,
    MISSING_SOURCE,
    PAST_DEADLINE,
    UNKNOWN_STEP,
    DeadlineRule,
    MappingSpec,
    Problem,
)

DeadlineFormat = Literal["iso", "space"]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def deadline_label(spec: MappingSpec, step_id: str) -> str:
    return f"Deadline of {spec.step_title(step_id)}"


def encode_deadline(moment: datetime, deadline_format: DeadlineFormat = "iso") -> str:
    """`moment` in UTC as `YYYY-MM-DDTHH:MM:SS.000Z` ("iso") or `YYYY-MM-DD HH:MM:SS`."""
    m = moment.astimezone(UTC)
    day = f"{m.year:04d}-{m.month:02d}-{m.day:02d}"
    clock = f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    return f"{day} {clock}" if deadline_format == "space" else f"{day}T{clock}.000Z"


def parse_day(value: Any) -> date | None:
    """The day a date answer names: `YYYY-MM-DD`, or the date part of an ISO date-time as
    written (the respondent meant that day, whatever its offset). None: not a date."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        if _DAY.match(text):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if text else None
    except ValueError:
        return None


def parse_time_of_day(text: str) -> time | None:
    """`HH:MM` (24 hours) as a UTC time; None when it is not one."""
    found = _TIME.match(str(text).strip())
    if not found:
        return None
    hour, minute = int(found[1]), int(found[2])
    return time(hour, minute, tzinfo=UTC) if hour < 24 and minute < 60 else None


def parse_moment(text: str) -> datetime | None:
    """An ISO date-time (no offset: UTC); None when it is not one."""
    try:
        moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def step_deadlines(
    spec: MappingSpec,
    index: Mapping[str, Answer],
    context: Mapping[str, Any],
    problems: list[Problem],
    *,
    now: datetime | None = None,
    deadline_format: DeadlineFormat = "iso",
) -> dict[str, str]:
    """Each step's encoded deadline for one submission (steps with none are left out)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for rule in spec.deadlines:
        field_id, label = f"{DEADLINE_PREFIX}{rule.step_id}", deadline_label(spec, rule.step_id)
        if not spec.has_step(rule.step_id):
            problems.append(
                Problem(
                    field_id,
                    label,
                    UNKNOWN_STEP,
                    f"The template has no step {rule.step_id!r} any more: no deadline is sent.",
                )
            )
            continue
        if rule.step_id in seen:
            problems.append(
                Problem(field_id, label, DUPLICATE, f"{label} is set twice; the first is used.")
            )
            continue
        seen.add(rule.step_id)
        found: list[Problem] = []
        moment = _moment(rule, label, index, context, found)
        problems.extend(Problem(field_id, label, p.code, p.message) for p in found)
        if moment is None:
            continue
        if now is not None and moment < (now if now.tzinfo else now.replace(tzinfo=UTC)):
            problems.append(
                Problem(
                    field_id,
                    label,
                    PAST_DEADLINE,
                    f"{label} is in the past ({encode_deadline(moment, 'space')[:16]} UTC).",
                )
            )
        out[rule.step_id] = encode_deadline(moment, deadline_format)
    return out


def _moment(
    rule: DeadlineRule,
    label: str,
    index: Mapping[str, Answer],
    context: Mapping[str, Any],
    found: list[Problem],
) -> datetime | None:
    """The deadline as a UTC moment, or None (with the reason in `found` when it matters)."""

    def problem(code: str, message: str) -> None:
        found.append(Problem("", label, code, f"{label}: {message}"))

    try:
        if rule.source == "submitted":
            submitted = str(context.get("submitted_at") or "")
            if not submitted.strip():
                problem(MISSING_SOURCE, "the submission time is unknown; no deadline is sent.")
                return None
            start = parse_moment(submitted)
            if start is None:
                problem(BAD_DEADLINE, f"the submission time {quoted(submitted)} is not a date.")
                return None
            return (start + timedelta(days=rule.offset_days)).astimezone(UTC)
        if rule.source != "answer":
            problem(INVALID, f"unknown deadline source {rule.source!r}.")
            return None
        at = parse_time_of_day(rule.time_of_day)
        if at is None:
            problem(INVALID, f"the time of day {quoted(rule.time_of_day)} is not HH:MM.")
            return None
        answer = index.get(rule.source_key)
        if answer is None:
            problem(MISSING_SOURCE, f"Tally field {rule.source_key!r} is not in this submission.")
            return None
        if is_blank(answer.value):
            return None
        day = parse_day(answer.value)
        if day is None:
            shown = quoted(display(answer).text)
            problem(BAD_DEADLINE, f"{shown} ({answer.label or answer.key}) is not a date.")
            return None
        return datetime.combine(day + timedelta(days=rule.offset_days), at)
    except OverflowError:
        problem(BAD_DEADLINE, f"{rule.offset_days} days later is past the calendar's end.")
        return None
