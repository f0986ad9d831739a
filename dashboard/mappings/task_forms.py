"""The "Complete a task" builder's own sections: which run (hidden fields the follow-up
link fills, or a kick-off field that equals an answer) and, for an approval step, which
answer approves and which rejects. Plain forms saved by the builder's Save; the approval
section is redrawn by HTMX when its question changes (its options then show)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import ErrorDict

from integrations.engine.rules import ApprovalRule
from integrations.launchrules import approval_from_json
from integrations.tally.answers import Answer
from integrations.tallyfy.shapes import KickoffField, Step

from .people_forms import question_label

HIDDEN = "hidden"
FIELD = "field"
# What the follow-up link carries (`?kickoff_ref=…`), and the other names preselected.
REF_NAME, RUN_NAME, TASK_NAME = "kickoff_ref", "run_id", "task_id"
ID_TYPES = frozenset({"HIDDEN_FIELDS", "INPUT_TEXT"})
# Answers a kick-off field can equal: not files, tables or payments.
UNMATCHABLE = frozenset({"FILE_UPLOAD", "SIGNATURE", "MATRIX", "PAYMENT"})
UNMATCHABLE_FIELDS = frozenset({"file", "table", "assignees_form"})
APPROVE, REJECT = "approve", "reject"
DECISIONS = [
    ("", "neither: the delivery fails with a problem"),
    (APPROVE, "approves"),
    (REJECT, "rejects"),
]
# Only the obvious words are suggested for a question picked anew; the operator sees them.
_SUGGEST = {
    APPROVE: {"approve", "approved", "yes", "accept", "accepted"},
    REJECT: {"reject", "rejected", "no", "decline", "declined"},
}


class TaskSettingsForm(forms.Form):
    name = forms.CharField(max_length=200, label="Mapping name")


def _none(label: str) -> list[tuple[str, str]]:
    return [("", label)]


def _named(sources: list[Answer], name: str) -> str:
    return next((s.key for s in sources if (s.label or "").strip().lower() == name), "")


class RunMatchForm(forms.Form):
    """Which run a submission completes the step's task in."""

    how = forms.ChoiceField(
        required=False,
        widget=forms.RadioSelect,
        label="Find the run",
        choices=[
            (HIDDEN, "By hidden fields of the form (what the follow-up link fills in)"),
            (FIELD, "By matching a kick-off field of the run with an answer"),
        ],
    )
    ref_key = forms.ChoiceField(required=False, label="Kickoff reference (kickoff_ref)")
    run_key = forms.ChoiceField(required=False, label="or the run id")
    task_key = forms.ChoiceField(required=False, label="Task id (optional)")
    field_id = forms.ChoiceField(required=False, label="Kick-off field")
    source_key = forms.ChoiceField(required=False, label="equals the answer to")
    pick = forms.ChoiceField(
        required=False,
        widget=forms.RadioSelect,
        label="If several open runs match",
        choices=[("only", "fail and list them"), ("newest", "take the newest")],
        initial="only",
    )

    def __init__(self, data, *, sources: list[Answer], fields: list[KickoffField], saved: dict):
        ids = [s for s in sources if s.type in ID_TYPES]
        initial: dict[str, Any] = {"pick": "only"}
        if saved:
            initial.update({k: v for k, v in saved.items() if k != "how"}, how=saved.get("how"))
        else:
            # A new mapping of a form with the follow-up link's hidden fields: preselected.
            initial.update(
                ref_key=_named(ids, REF_NAME),
                run_key=_named(ids, RUN_NAME),
                task_key=_named(ids, TASK_NAME),
            )
            if initial["ref_key"] or initial["run_key"]:
                initial["how"] = HIDDEN
        super().__init__(data, prefix="run", initial=initial)
        id_choices = [(s.key, f"{question_label(s)} · {_kind(s)}") for s in ids]
        for name in ("ref_key", "run_key", "task_key"):
            self.fields[name].choices = _none("— none —") + id_choices
        self.fields_by_id = {f.id: f for f in fields if f.field_type not in UNMATCHABLE_FIELDS}
        self.fields["field_id"].choices = _none("— choose a kick-off field —") + [
            (f.id, f.label) for f in self.fields_by_id.values()
        ]
        self.fields["source_key"].choices = _none("— choose a question —") + [
            (s.key, question_label(s)) for s in sources if s.type not in UNMATCHABLE
        ]
        self.has_ids = bool(ids)

    def clean(self):
        data = super().clean()
        how = data.get("how")
        if how == HIDDEN:
            if not data.get("ref_key") and not data.get("run_key"):
                self.add_error(
                    "ref_key",
                    "Pick the hidden field that holds the Kickoff reference (kickoff_ref) "
                    "or the run id.",
                )
            elif data.get("ref_key") and data.get("ref_key") == data.get("run_key"):
                self.add_error("run_key", "The reference and the run id are different fields.")
        elif how == FIELD:
            if not data.get("field_id"):
                self.add_error("field_id", "Pick the kick-off field the answer must equal.")
            if not data.get("source_key"):
                self.add_error("source_key", "Pick the answer the kick-off field must equal.")
        else:
            self.add_error(
                "how",
                "Choose how to find the run: by hidden fields, or by a kick-off field that "
                "equals an answer.",
            )
        return data

    def value(self) -> dict[str, Any]:
        """`MappingVersion.run_match` (after is_valid())."""
        data = self.cleaned_data
        if data["how"] == HIDDEN:
            return {
                "how": HIDDEN,
                "ref_key": data.get("ref_key") or "",
                "run_key": data.get("run_key") or "",
                "task_key": data.get("task_key") or "",
            }
        field = self.fields_by_id.get(data["field_id"])
        return {
            "how": FIELD,
            "field_id": data["field_id"],
            "field_label": field.label if field else "",
            "source_key": data["source_key"],
            "pick": data.get("pick") or "only",
        }

    def quiet(self) -> None:
        if self.is_bound:
            self._errors = ErrorDict()


def _kind(answer: Answer) -> str:
    return "hidden field" if answer.type == "HIDDEN_FIELDS" else "text"


class ApprovalForm(forms.Form):
    """An approval step's decision: one choice question, and per option what it means."""

    source_key = forms.ChoiceField(required=False, label="Decision question")

    def __init__(self, data, *, step: Step, sources: list[Answer], saved: dict, refresh_url: str):
        rule = approval_from_json(saved)
        super().__init__(
            data, prefix="approval", initial={"source_key": rule.source_key if rule else ""}
        )
        self.step = step
        choices = [s for s in sources if s.is_choice and s.options]
        self.by_key = {s.key: s for s in choices}
        self.fields["source_key"].choices = _none("— choose a choice question —") + [
            (s.key, question_label(s)) for s in choices
        ]
        self.fields["source_key"].widget.attrs["hx-post"] = refresh_url
        key = self.data.get(self.add_prefix("source_key"), "") if self.is_bound else None
        key = self.initial["source_key"] if key is None else key
        self.question = self.by_key.get(key)
        same = rule is not None and rule.source_key == key
        self.option_rows = []
        # Options not on the page yet (their question was just picked): shown, not saved.
        self.unseen = False
        if self.is_bound:
            self.data = self.data.copy()
        for option in self.question.options if self.question else ():
            name = f"opt-{option.id}"
            initial = _decision(rule, option.text) if same else _suggest(option.text)
            if self.is_bound and self.add_prefix(name) not in self.data:
                self.data[self.add_prefix(name)] = initial
                self.unseen = True
            self.fields[name] = forms.ChoiceField(
                required=False, choices=DECISIONS, label=option.text, initial=initial
            )
            self.option_rows.append((option, self[name]))

    def clean(self):
        data = super().clean()
        if not data.get("source_key"):
            self.add_error(
                "source_key",
                f"Pick the question whose answer approves or rejects “{self.step.title}”.",
            )
        elif self.unseen:
            self.add_error("source_key", "Check what each option means below, then save again.")
        elif not any(data.get(f"opt-{o.id}") for o, _ in self.option_rows):
            self.add_error(
                "source_key",
                "Mark which option approves and which rejects; an answer marked neither "
                "fails the delivery.",
            )
        return data

    def rule(self) -> ApprovalRule:
        data = self.cleaned_data
        picked = {o.text: data.get(f"opt-{o.id}") for o, _ in self.option_rows}
        return ApprovalRule(
            source_key=data["source_key"],
            approve=tuple(t for t, d in picked.items() if d == APPROVE),
            reject=tuple(t for t, d in picked.items() if d == REJECT),
        )

    def quiet(self) -> None:
        if self.is_bound:
            self._errors = ErrorDict()


def _decision(rule: ApprovalRule, text: str) -> str:
    if text in rule.approve:
        return APPROVE
    return REJECT if text in rule.reject else ""


def _suggest(text: str) -> str:
    word = text.strip().lower()
    return next((d for d, words in _SUGGEST.items() if word in words), "")
