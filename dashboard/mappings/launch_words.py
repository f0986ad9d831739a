"""A version's launch rules in words, for the builder's section lines and the mapping page:
names and question labels, never raw ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations import launchrules
from integrations.engine.rules import Assignee, DeadlineRule, PeopleRule, TagRule
from integrations.mappings import condition_words, version_sources
from integrations.tally.answers import Answer

NO_CONDITION = "No condition: every submission launches"


def assignees_words(assignees: tuple[Assignee, ...]) -> str:
    def one(a: Assignee) -> str:
        name = a.label or a.id
        return {"group": f"group {name}", "guest": f"{name} (guest)"}.get(a.kind, name)

    return ", ".join(map(one, assignees)) or "nobody"


class Words:
    """Words for one form's questions (labels, option texts)."""

    def __init__(self, sources: list[Answer]):
        self.sources = {s.key: s for s in sources}

    def question(self, key: str) -> str:
        source = self.sources.get(key)
        return f"“{source.label or key}”" if source else f"“{key}”"

    def option(self, key: str, option_id: str) -> str:
        source = self.sources.get(key)
        options = {o.id: o.text for o in source.options} if source else {}
        return options.get(option_id, option_id)

    def people(self, rule: PeopleRule) -> str:
        if rule.source == "email":
            return f"the member whose email {self.question(rule.source_key)} holds"
        if rule.source == "choice":
            table = "; ".join(
                f"{self.option(rule.source_key, k)} → {assignees_words(v)}"
                for k, v in rule.option_map.items()
            )
            return f"by {self.question(rule.source_key)}: {table or 'no option mapped'}"
        return assignees_words(rule.constant)

    def deadline(self, rule: DeadlineRule) -> str:
        days = rule.offset_days
        if rule.source == "submitted":
            return f"{days} day{'s' if days != 1 else ''} after it was submitted"
        shift = f" {'+' if days >= 0 else '−'} {abs(days)} days" if days else ""
        return f"{self.question(rule.source_key)}{shift} at {rule.time_of_day} UTC"

    def tags(self, rule: TagRule) -> str:
        table = "; ".join(
            f"{self.option(rule.source_key, k)} → {', '.join(v)}"
            for k, v in rule.option_map.items()
        )
        return f"by {self.question(rule.source_key)}: {table or 'no option mapped'}"


@dataclass
class Summary:
    """One version's launch rules, one line per rule."""

    condition: str = NO_CONDITION
    otherwise: bool = False
    owner: list[str] = field(default_factory=list)
    process: list[str] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (step title, owners)
    deadlines: list[tuple[str, str]] = field(default_factory=list)  # (step title, when)
    tags: list[str] = field(default_factory=list)

    @property
    def people_line(self) -> str:
        parts = []
        if self.owner:
            parts.append("owner " + "; ".join(self.owner))
        if self.process:
            parts.append("assignees " + "; ".join(self.process))
        if self.steps:
            parts.append(f"{len(self.steps)} step{'s' if len(self.steps) != 1 else ''} assigned")
        return (
            ", ".join(parts)
            or "Tallyfy's defaults: the launcher owns it, steps as the template assigns"
        )

    @property
    def deadlines_line(self) -> str:
        return "; ".join(f"{t}: {w}" for t, w in self.deadlines) or "No deadlines set"

    @property
    def tags_line(self) -> str:
        return "; ".join(self.tags) or "No tags from answers"

    @property
    def empty(self) -> bool:
        return not (
            self.condition != NO_CONDITION
            or self.otherwise
            or self.owner
            or self.process
            or self.steps
            or self.deadlines
            or self.tags
        )


def summary(*, condition, otherwise, people, deadlines, tag_rules, sources, steps) -> Summary:
    words = Words(sources)
    titles = {s.id: s.title for s in steps}
    out = Summary(otherwise=otherwise)
    if condition is not None and condition.clauses:
        out.condition = condition_words(condition)
    for rule in people:
        line = words.people(rule)
        if rule.target == "owner":
            out.owner.append(line)
        elif rule.target == "process":
            out.process.append(line)
        else:
            step_id = rule.target.removeprefix("step:")
            out.steps.append((titles.get(step_id, f"a step no longer listed ({step_id})"), line))
    out.deadlines = [
        (titles.get(r.step_id, f"a step no longer listed ({r.step_id})"), words.deadline(r))
        for r in deadlines
    ]
    out.tags = [words.tags(r) for r in tag_rules]
    return out


def version_summary(version) -> Summary | None:
    """The saved version's launch rules in words (None: no version)."""
    if version is None:
        return None
    return summary(
        condition=launchrules.condition_from_json(version.condition),
        otherwise=version.otherwise,
        people=launchrules.people_from_json(version.people),
        deadlines=launchrules.deadlines_from_json(version.deadlines),
        tag_rules=launchrules.tag_rules_from_json(version.tag_rules),
        sources=version_sources(version),
        steps=launchrules.steps_from_json(version.template_steps),
    )
