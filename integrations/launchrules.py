"""A mapping version's launch rules as stored (JSON on `MappingVersion`) <-> the engine's
shapes. The only place that knows the stored layout:

- `condition`: `{"join": "all"|"any", "clauses": [{source_key, op, value, label}]}`
  (`{}`: no condition);
- `people`: `[{target, source, constant: [assignee], source_key, option_map: {option:
  [assignee]}}]`, an assignee being `{kind: "user"|"group"|"guest", id, label}`;
- `deadlines`: `[{step_id, source, source_key, offset_days, time_of_day}]`;
- `tag_rules`: `[{source_key, option_map: {option: [tag id]}}]`;
- `template_steps`: `[{id, title, position}]`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import engine
from .engine.rules import (
    ApprovalRule,
    Assignee,
    Clause,
    Condition,
    DeadlineRule,
    PeopleRule,
    Step,
    TagRule,
)


def _assignees(items: Any) -> tuple[Assignee, ...]:
    return tuple(
        Assignee(kind=a.get("kind", "user"), id=str(a.get("id", "")), label=a.get("label", ""))
        for a in items or ()
        if isinstance(a, Mapping) and a.get("id") not in (None, "")
    )


def assignees_json(items: Iterable[Assignee]) -> list[dict[str, str]]:
    return [{"kind": a.kind, "id": a.id, "label": a.label} for a in items]


def condition_from_json(data: Any) -> Condition | None:
    if not isinstance(data, Mapping) or not data.get("clauses"):
        return None
    return Condition(
        clauses=tuple(
            Clause(
                source_key=c.get("source_key", ""),
                op=c.get("op", "equals"),
                value=c.get("value"),
                label=c.get("label", ""),
            )
            for c in data["clauses"]
            if isinstance(c, Mapping)
        ),
        join="any" if data.get("join") == "any" else "all",
    )


def condition_json(condition: Condition | None) -> dict[str, Any]:
    if condition is None or not condition.clauses:
        return {}
    return {
        "join": condition.join,
        "clauses": [
            {"source_key": c.source_key, "op": c.op, "value": c.value, "label": c.label}
            for c in condition.clauses
        ],
    }


def people_from_json(data: Any) -> tuple[PeopleRule, ...]:
    return tuple(
        PeopleRule(
            target=r.get("target", ""),
            source=r.get("source", "constant"),
            constant=_assignees(r.get("constant")),
            source_key=r.get("source_key", ""),
            option_map={str(k): _assignees(v) for k, v in (r.get("option_map") or {}).items()},
        )
        for r in data or ()
        if isinstance(r, Mapping)
    )


def people_json(rules: Iterable[PeopleRule]) -> list[dict[str, Any]]:
    return [
        {
            "target": r.target,
            "source": r.source,
            "constant": assignees_json(r.constant),
            "source_key": r.source_key,
            "option_map": {k: assignees_json(v) for k, v in r.option_map.items()},
        }
        for r in rules
    ]


def deadlines_from_json(data: Any) -> tuple[DeadlineRule, ...]:
    return tuple(
        DeadlineRule(
            step_id=r.get("step_id", ""),
            source="submitted" if r.get("source") == "submitted" else "answer",
            source_key=r.get("source_key", ""),
            offset_days=int(r.get("offset_days") or 0),
            time_of_day=r.get("time_of_day") or "17:00",
        )
        for r in data or ()
        if isinstance(r, Mapping)
    )


def deadlines_json(rules: Iterable[DeadlineRule]) -> list[dict[str, Any]]:
    return [
        {
            "step_id": r.step_id,
            "source": r.source,
            "source_key": r.source_key,
            "offset_days": r.offset_days,
            "time_of_day": r.time_of_day,
        }
        for r in rules
    ]


def tag_rules_from_json(data: Any) -> tuple[TagRule, ...]:
    return tuple(
        TagRule(
            source_key=r.get("source_key", ""),
            option_map={
                str(k): tuple(str(t) for t in (v or ()))
                for k, v in (r.get("option_map") or {}).items()
            },
        )
        for r in data or ()
        if isinstance(r, Mapping)
    )


def tag_rules_json(rules: Iterable[TagRule]) -> list[dict[str, Any]]:
    return [
        {"source_key": r.source_key, "option_map": {k: list(v) for k, v in r.option_map.items()}}
        for r in rules
    ]


def steps_from_json(data: Any) -> tuple[Step, ...]:
    return tuple(
        Step(
            id=str(s.get("id", "")),
            title=s.get("title", ""),
            position=int(s.get("position") or 0),
            task_type=s.get("task_type") or "task",
        )
        for s in data or ()
        if isinstance(s, Mapping) and s.get("id")
    )


def steps_json(steps: Iterable[Step]) -> list[dict[str, Any]]:
    return [
        {"id": s.id, "title": s.title, "position": s.position, "task_type": s.task_type}
        for s in steps
    ]


def route_candidate(mapping_id: int, name: str, version: Any) -> engine.RouteCandidate:
    """What routing needs of one mapping's version (any object with `condition`/`otherwise`)."""
    return engine.RouteCandidate(
        mapping_id=mapping_id,
        name=name,
        condition=condition_from_json(version.condition) or Condition(),
        otherwise=bool(version.otherwise),
    )


def approval_from_json(data: Any) -> ApprovalRule | None:
    if not isinstance(data, Mapping) or not data.get("source_key"):
        return None
    return ApprovalRule(
        source_key=str(data["source_key"]),
        approve=tuple(str(v) for v in data.get("approve") or ()),
        reject=tuple(str(v) for v in data.get("reject") or ()),
    )


def approval_json(rule: ApprovalRule | None) -> dict[str, Any]:
    if rule is None:
        return {}
    return {
        "source_key": rule.source_key,
        "approve": list(rule.approve),
        "reject": list(rule.reject),
    }
