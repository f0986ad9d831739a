"""The builder's launch rules: when to launch, who gets the work (`people_forms`), by when,
and tags from answers. Plain forms posted with the rest of the builder and saved by the same
Save; HTMX re-renders the section when a question or a test changes and when a row is added
or removed (`ADD`/`REMOVE` buttons, which also work without JavaScript), from everything
typed so far, so nothing unsaved is lost.

Rows that can be added (clauses, tag rules) are numbered once and listed in a hidden
`<prefix>-rows` field ("0,2,3"): removing one never renumbers the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.forms.utils import ErrorDict

from integrations import engine, launchrules
from integrations.engine.rules import (
    CONDITION_OPS,
    Clause,
    Condition,
    DeadlineRule,
    PeopleRule,
    TagRule,
)
from integrations.tally.answers import Answer

from .people_forms import PeopleForm, people_forms, question_label

ADD = "launch-add"  # value: "cond" or "tags"
REMOVE = "launch-remove"  # value: "cond-<n>" or "tags-<n>"
COMPARE_OPS = {"gt", "gte", "lt", "lte"}
EMPTY_OPS = {"is_empty", "not_empty"}
TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
DATE_TYPES = {"INPUT_DATE"}


def _refresh(url: str) -> dict[str, str]:
    return {"hx-post": url}


class ClauseForm(forms.Form):
    """One test over one answer."""

    source_key = forms.ChoiceField(required=False, label="Question")
    op = forms.ChoiceField(
        required=False, choices=list(CONDITION_OPS.items()), label="Test", initial="equals"
    )
    value = forms.CharField(required=False, label="Value")
    values = forms.MultipleChoiceField(required=False, label="Values")

    def __init__(self, data, *, prefix: str, sources: list[Answer], clause, refresh_url: str):
        initial = {}
        if clause is not None:
            many = isinstance(clause.value, list | tuple)
            initial = {
                "source_key": clause.source_key,
                "op": clause.op,
                "value": "" if clause.value is None or many else _number_text(clause.value),
                "values": list(clause.value) if many else [],
            }
        super().__init__(data, prefix=prefix, initial=initial)
        self.sources_by_key = {s.key: s for s in sources}
        self.fields["source_key"].choices = [("", "— choose a question —")] + [
            (s.key, question_label(s)) for s in sources
        ]
        self.fields["source_key"].widget.attrs.update(_refresh(refresh_url))
        self.fields["op"].widget.attrs.update(_refresh(refresh_url))
        question = self.question()
        options = [o.text for o in question.options] if question else []
        self.fields["values"].choices = [(t, t) for t in options]
        self.kind = self._value_kind(bool(options))
        if self.kind == "option":
            self.fields["value"].widget = forms.Select(
                choices=[("", "— choose an option —")] + [(t, t) for t in options]
            )
        elif self.kind == "number":
            self.fields["value"].widget = forms.NumberInput(attrs={"step": "any"})

    def _bound(self, name: str) -> str:
        if self.is_bound:
            return self.data.get(self.add_prefix(name), "")
        return self.initial.get(name, "")

    def question(self) -> Answer | None:
        return self.sources_by_key.get(self._bound("source_key"))

    def _value_kind(self, has_options: bool) -> str:
        """Which value input fits: none, number, options (one_of), option, or text."""
        op = self._bound("op") or "equals"
        if op in EMPTY_OPS:
            return "none"
        if op in COMPARE_OPS:
            return "number"
        if op == "one_of" and has_options:
            return "options"
        if has_options and op in ("equals", "not_equals"):
            return "option"
        return "text"

    def clean(self):
        data = super().clean()
        if not data.get("source_key"):
            return data  # a blank row is ignored
        op = data["op"] = data.get("op") or "equals"
        text = (data.get("value") or "").strip()
        if op in COMPARE_OPS:
            try:
                data["parsed"] = float(text)
            except ValueError:
                self.add_error("value", f"Enter a number to compare with, not “{text}”.")
        elif op == "one_of":
            picked = data.get("values") or [t.strip() for t in text.split(",") if t.strip()]
            if not picked:
                self.add_error("values" if self.kind == "options" else "value", _PICK_ONE)
            data["parsed"] = picked
        elif op not in EMPTY_OPS:
            if not text:
                self.add_error("value", "Enter the value to compare with.")
            data["parsed"] = text
        return data

    def clause(self) -> Clause | None:
        data = self.cleaned_data
        if not data.get("source_key"):
            return None
        question = self.question()
        value = data.get("parsed")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return Clause(
            source_key=data["source_key"],
            op=data["op"],
            value=None if data["op"] in EMPTY_OPS else value,
            label=question_label(question) if question else "",
        )


_PICK_ONE = "Pick at least one option (or type them, comma-separated)."


def _number_text(value: Any) -> str:
    return str(value)


class ConditionHeadForm(forms.Form):
    join = forms.ChoiceField(
        required=False,
        choices=[("all", "all of these hold"), ("any", "any of these holds")],
        label="Launch when",
        initial="all",
    )
    otherwise = forms.BooleanField(
        required=False,
        label="Otherwise: launch from this mapping when no other enabled mapping of this "
        "form takes the submission",
    )


class DeadlineForm(forms.Form):
    """One step's deadline."""

    source = forms.ChoiceField(
        required=False,
        choices=[
            ("", "No deadline"),
            ("answer", "A date question ± days"),
            ("submitted", "Days after it was submitted"),
        ],
        label="Deadline",
    )
    source_key = forms.ChoiceField(required=False, label="Date question")
    offset_days = forms.IntegerField(
        required=False, min_value=-3650, max_value=3650, label="Days (+/−)", initial=0
    )
    time_of_day = forms.CharField(required=False, label="At (UTC)", initial="17:00")

    def __init__(self, data, *, step: engine.Step, sources: list[Answer], rule, refresh_url):
        initial = {}
        if rule is not None:
            initial = {
                "source": rule.source,
                "source_key": rule.source_key,
                "offset_days": rule.offset_days,
                "time_of_day": rule.time_of_day,
            }
        super().__init__(data, prefix=f"deadline-{step.id}", initial=initial)
        self.step = step
        self.fields["source"].widget.attrs.update(_refresh(refresh_url))
        self.fields["source_key"].choices = [("", "— choose a date question —")] + [
            (s.key, question_label(s)) for s in sources if s.type in DATE_TYPES
        ]
        self.fields["time_of_day"].widget.attrs.update({"placeholder": "HH:MM", "size": 5})

    def chosen(self) -> str:
        return (
            self.data.get(self.add_prefix("source"), "")
            if self.is_bound
            else self.initial.get("source", "")
        )

    def clean(self):
        data = super().clean()
        source, days = data.get("source"), data.get("offset_days") or 0
        if source == "answer":
            if not data.get("source_key"):
                self.add_error("source_key", "Pick the date question.")
            if not TIME.fullmatch(data.get("time_of_day") or ""):
                self.add_error(
                    "time_of_day",
                    f"Enter a time as HH:MM (24 hours, UTC), e.g. 17:00, not "
                    f"“{data.get('time_of_day')}”.",
                )
        elif source == "submitted" and days < 0:
            self.add_error("offset_days", "Count days after the submission: 0 or more.")
        return data

    def rule(self) -> DeadlineRule | None:
        data = self.cleaned_data
        if not data.get("source"):
            return None
        answer = data["source"] == "answer"
        return DeadlineRule(
            step_id=self.step.id,
            source=data["source"],
            source_key=data["source_key"] if answer else "",
            offset_days=data.get("offset_days") or 0,
            time_of_day=data["time_of_day"] if answer else "17:00",
        )


class TagRuleForm(forms.Form):
    """Tags from one choice question: per option, the tag ids to add."""

    source_key = forms.ChoiceField(required=False, label="Choice question")

    def __init__(self, data, *, prefix: str, sources: list[Answer], rule, refresh_url: str):
        super().__init__(
            data, prefix=prefix, initial={"source_key": rule.source_key if rule else ""}
        )
        choices = [s for s in sources if s.is_choice and s.options]
        self.sources_by_key = {s.key: s for s in choices}
        self.fields["source_key"].choices = [("", "— choose a question —")] + [
            (s.key, question_label(s)) for s in choices
        ]
        self.fields["source_key"].widget.attrs.update(_refresh(refresh_url))
        key = (
            self.data.get(self.add_prefix("source_key"), "")
            if self.is_bound
            else (self.initial["source_key"])
        )
        saved = dict(rule.option_map) if rule else {}
        self.option_rows = []
        question = self.sources_by_key.get(key)
        for option in question.options if question else ():
            name = f"opt-{option.id}"
            self.fields[name] = forms.CharField(
                required=False,
                label=option.text,
                initial=", ".join(saved.get(option.id, ())),
                widget=forms.TextInput(attrs={"placeholder": "tag ids, comma-separated"}),
            )
            self.option_rows.append((option, self[name]))

    def rule(self) -> TagRule | None:
        data = self.cleaned_data
        if not data.get("source_key"):
            return None
        option_map = {
            option.id: tuple(
                t.strip() for t in data.get(f"opt-{option.id}", "").split(",") if t.strip()
            )
            for option, _ in self.option_rows
        }
        return TagRule(
            source_key=data["source_key"], option_map={k: v for k, v in option_map.items() if v}
        )


def _row_ids(data, prefix: str, saved_count: int) -> list[int]:
    """The rows to show: as posted (minus a removed one, plus an added one), else saved."""
    if data is None:
        return list(range(max(saved_count, 1)))
    ids = [int(i) for i in re.findall(r"\d+", data.get(f"{prefix}-rows", ""))]
    removed = data.get(REMOVE, "")
    if removed.startswith(f"{prefix}-"):
        ids = [i for i in ids if f"{prefix}-{i}" != removed]
    if data.get(ADD) == prefix or not ids:
        ids.append(max(ids, default=-1) + 1)
    return ids


@dataclass
class Saved:
    """A version's launch rules as the engine shapes them (empty for a new mapping)."""

    condition: Condition | None = None
    otherwise: bool = False
    people: tuple[PeopleRule, ...] = ()
    deadlines: tuple[DeadlineRule, ...] = ()
    tag_rules: tuple[TagRule, ...] = ()

    @classmethod
    def of(cls, version) -> Saved:
        if version is None:
            return cls()
        return cls(
            condition=launchrules.condition_from_json(version.condition),
            otherwise=version.otherwise,
            people=launchrules.people_from_json(version.people),
            deadlines=launchrules.deadlines_from_json(version.deadlines),
            tag_rules=launchrules.tag_rules_from_json(version.tag_rules),
        )


class LaunchRules:
    """Every launch-rule form of the builder, validated and read back together.

    `directory` None: Tallyfy's members could not be read; the people rows are not offered
    and the saved people rules are kept as they are. `steps` None: Tallyfy did not list the
    template's steps; per-step rows are not offered and the saved step rules are kept.
    """

    def __init__(
        self,
        data,
        *,
        sources: list[Answer],
        steps: list[engine.Step] | None,
        directory: engine.Directory | None,
        saved: Saved,
        refresh_url: str,
    ):
        self.saved, self.steps, self.directory = saved, steps, directory
        clauses = saved.condition.clauses if saved.condition else ()
        self.condition_head = ConditionHeadForm(
            data,
            prefix="cond",
            initial={
                "join": saved.condition.join if saved.condition else "all",
                "otherwise": saved.otherwise,
            },
        )
        self.clause_ids = _row_ids(data, "cond", len(clauses))
        self.clauses = [
            ClauseForm(
                data,
                prefix=f"cond-{i}",
                sources=sources,
                clause=clauses[i] if data is None and i < len(clauses) else None,
                refresh_url=refresh_url,
            )
            for i in self.clause_ids
        ]
        self.people: list[PeopleForm] = []
        if directory is not None:
            self.people = people_forms(
                data,
                steps=steps,
                sources=sources,
                directory=directory,
                saved=saved.people,
                refresh_url=refresh_url,
            )
        by_step = {r.step_id: r for r in saved.deadlines}
        self.deadlines = [
            DeadlineForm(
                data, step=s, sources=sources, rule=by_step.get(s.id), refresh_url=refresh_url
            )
            for s in steps or ()
        ]
        self.tag_ids = _row_ids(data, "tags", len(saved.tag_rules))
        self.tag_forms = [
            TagRuleForm(
                data,
                prefix=f"tags-{i}",
                sources=sources,
                rule=saved.tag_rules[i] if data is None and i < len(saved.tag_rules) else None,
                refresh_url=refresh_url,
            )
            for i in self.tag_ids
        ]

    # --- which sections open: the set ones, the edited ones and the ones with an error -----

    def _acted_on(self, prefix: str) -> bool:
        data = self.condition_head.data if self.condition_head.is_bound else {}
        return data.get(ADD) == prefix or data.get(REMOVE, "").startswith(f"{prefix}-")

    @property
    def condition_open(self) -> bool:
        return (
            self._acted_on("cond")
            or any(c.question() or c.errors for c in self.clauses)
            or bool(self.condition_head.initial.get("otherwise"))
            or self.condition_head["otherwise"].value()
        )

    @property
    def people_open(self) -> bool:
        return any(f.chosen("source") or f.errors for f in self.people)

    @property
    def deadlines_open(self) -> bool:
        return any(f.chosen() or f.errors for f in self.deadlines)

    @property
    def tags_open(self) -> bool:
        return self._acted_on("tags") or any(
            f["source_key"].value() or f.errors for f in self.tag_forms
        )

    def quiet(self) -> None:
        """Show no errors: the page was only redrawn mid-edit (a half-made clause is not
        wrong yet); saving checks everything."""
        for f in self.all_forms:
            if f.is_bound:
                f._errors = ErrorDict()

    @property
    def all_forms(self) -> list[forms.Form]:
        return [self.condition_head, *self.clauses, *self.people, *self.deadlines, *self.tag_forms]

    def is_valid(self) -> bool:
        return all([f.is_valid() for f in self.all_forms])

    def values(self) -> dict[str, Any]:
        """The keyword arguments of `mapping_save_version` (after is_valid())."""
        clauses = tuple(c for c in (f.clause() for f in self.clauses) if c is not None)
        head = self.condition_head.cleaned_data
        return {
            "condition": Condition(clauses=clauses, join=head["join"] or "all")
            if clauses
            else None,
            "otherwise": head["otherwise"],
            "people": self._people(),
            "deadlines": self._deadlines(),
            "tag_rules": tuple(r for r in (f.rule() for f in self.tag_forms) if r is not None),
        }

    def _people(self) -> tuple[PeopleRule, ...]:
        if self.directory is None:
            return self.saved.people
        rules = tuple(r for r in (f.rule() for f in self.people) if r is not None)
        if self.steps is None:
            rules += tuple(r for r in self.saved.people if r.target.startswith("step:"))
        return rules

    def _deadlines(self) -> tuple[DeadlineRule, ...]:
        if self.steps is None:
            return self.saved.deadlines
        return tuple(r for r in (f.rule() for f in self.deadlines) if r is not None)
