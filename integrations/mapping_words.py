"""Mappings in words: what changed between two versions (each version's change summary),
conditions, and how a "Complete a task" mapping finds its run and reads its approval."""

from __future__ import annotations

from typing import Any

from . import engine, launchrules
from .engine.rules import CONDITION_OPS
from .models import FieldMapping, MappingVersion


def _rule_signature(rule: FieldMapping) -> tuple:
    return (
        rule.source,
        rule.source_key,
        rule.constant,
        rule.template,
        rule.option_map,
        rule.default,
    )


def describe_change(previous: MappingVersion | None, current: MappingVersion) -> str:
    if previous is None:
        return "first version"
    changes = []
    if previous.name_template != current.name_template:
        changes.append(f"process name “{previous.name_template}” → “{current.name_template}”")
    before = {r.target_field_id: r for r in previous.fields.all()}
    after = {r.target_field_id: r for r in current.fields.all()}
    for field_id, rule in after.items():
        old = before.get(field_id)
        if old is None or _rule_signature(old) != _rule_signature(rule):
            changes.append(f"{rule.target_label}: {_describe_rule(old)} → {_describe_rule(rule)}")
    for field_id, rule in before.items():
        if field_id not in after:
            changes.append(f"{rule.target_label}: no longer mapped")
    for attr, label in (("tags", "tags"), ("folders", "folders"), ("owner_id", "owner")):
        if getattr(previous, attr) != getattr(current, attr):
            changes.append(f"{label} changed")
    if previous.summary_template != current.summary_template:
        changes.append("summary changed")
    changes += _launch_rule_changes(previous, current)
    changes += _task_rule_changes(previous, current)
    return "; ".join(changes) or "no changes"


def _launch_rule_changes(previous: MappingVersion, current: MappingVersion) -> list[str]:
    changes = []
    if previous.condition != current.condition:
        words = condition_words(launchrules.condition_from_json(current.condition))
        changes.append(f"Condition changed: {words}")
    if previous.otherwise != current.otherwise:
        changes.append(
            "launches when no other mapping takes the submission"
            if current.otherwise
            else "no longer the form's “otherwise” mapping"
        )
    for attr, label in (
        ("people", "who gets the work"),
        ("deadlines", "deadlines"),
        ("tag_rules", "tags from answers"),
    ):
        if getattr(previous, attr) != getattr(current, attr):
            changes.append(f"{label} changed")
    return changes


def _task_rule_changes(previous: MappingVersion, current: MappingVersion) -> list[str]:
    changes = []
    if previous.followup_form_id != current.followup_form_id:
        changes.append(
            "follow-up form changed" if current.followup_form_id else "follow-up form removed"
        )
    if previous.run_match != current.run_match:
        changes.append(f"which run: {run_match_words(current.run_match)}")
    if previous.approval != current.approval:
        changes.append(f"approval: {approval_words(current.approval)}")
    return changes


def _label(labels: dict[str, str], key: str) -> str:
    return labels.get(key, key)


def run_match_words(run_match: dict[str, Any] | None, labels: dict[str, str] | None = None) -> str:
    """How a "Complete a task" mapping finds its run; `labels`: question labels by answer
    key (without them the keys are shown)."""
    labels, rm = labels or {}, run_match or {}
    if rm.get("how") == "hidden":
        parts = []
        if rm.get("ref_key"):
            parts.append(f"the Kickoff reference in “{_label(labels, rm['ref_key'])}”")
        if rm.get("run_key"):
            parts.append(f"the run id in “{_label(labels, rm['run_key'])}”")
        words = "the run named by " + " or ".join(parts)
        if rm.get("task_key"):
            words += f"; the task id in “{_label(labels, rm['task_key'])}”"
        return words
    if rm.get("how") == "field":
        several = "take the newest" if rm.get("pick") == "newest" else "fail and list them"
        return (
            f"the open run whose kick-off field “{rm.get('field_label') or rm.get('field_id')}” "
            f"equals the answer to “{_label(labels, rm.get('source_key', ''))}”; "
            f"if several match: {several}"
        )
    return "not set"


def approval_words(approval: dict[str, Any] | None, labels: dict[str, str] | None = None) -> str:
    """An approval rule in words: anything it does not name fails the delivery."""
    rule = launchrules.approval_from_json(approval)
    if rule is None:
        return "not set"

    def texts(values):
        return " or ".join(f"“{v}”" for v in values) or "no answer"

    return (
        f"“{_label(labels or {}, rule.source_key)}”: {texts(rule.approve)} approves, "
        f"{texts(rule.reject)} rejects; any other answer fails the delivery"
    )


def clause_words(clause: engine.Clause) -> str:
    """ "Plan is Enterprise", "Seats ≥ 10", "Notes is empty"."""
    question = clause.label or clause.source_key
    op = CONDITION_OPS.get(clause.op, clause.op)
    if clause.op in ("is_empty", "not_empty"):
        return f"{question} {op}"
    value = clause.value
    if isinstance(value, (list, tuple)):
        value = " or ".join(str(v) for v in value)
    return f"{question} {op} {value}"


def condition_words(condition: engine.Condition | None) -> str:
    """A condition in words; "every submission" when it has no clause."""
    if condition is None or not condition.clauses:
        return "every submission"
    joiner = " and " if condition.join == "all" else " or "
    return joiner.join(clause_words(c) for c in condition.clauses)


def _describe_rule(rule: FieldMapping | None) -> str:
    if rule is None or rule.source == FieldMapping.Source.NONE:
        return "empty"
    if rule.source == FieldMapping.Source.FIELD:
        extra = " (options mapped)" if rule.option_map else ""
        return f"“{rule.source_label or rule.source_key}”{extra}"
    if rule.source == FieldMapping.Source.CONSTANT:
        return f"constant {rule.constant!r}"
    return f"template “{rule.template}”"
