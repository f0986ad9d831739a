"""Django forms of the mapping builder: one small form per Tallyfy kick-off field, plus the
mapping's own settings. Plain forms, so the builder works without JavaScript; HTMX only
re-renders a row when its source changes."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from integrations import engine
from integrations.mappings import RuleInput
from integrations.models import FieldMapping, Mapping
from integrations.tally.answers import Answer
from integrations.tallyfy.shapes import KickoffField

LEAVE_EMPTY = ""
CONSTANT = "constant"
TEMPLATE = "template"
CHOICE_TYPES = {"radio", "dropdown", "multiselect"}


def source_value(rule: FieldMapping | None) -> str:
    if rule is None or rule.source == FieldMapping.Source.NONE:
        return LEAVE_EMPTY
    if rule.source == FieldMapping.Source.FIELD:
        return f"field:{rule.source_key}"
    return rule.source


class RuleForm(forms.Form):
    """Where one kick-off field's value comes from."""

    source = forms.ChoiceField(required=False, label="Value from")
    constant = forms.CharField(required=False, label="Constant value")
    template = forms.CharField(
        required=False,
        label="Text template",
        help_text="Use {field key} or {label} placeholders, e.g. “Onboarding – {Company}”.",
    )
    default = forms.CharField(
        required=False,
        label="If empty, use…",
        help_text="Sent when the submission left the Tally field empty.",
    )

    def __init__(
        self,
        *args,
        field: KickoffField,
        sources: list[Answer],
        rule: FieldMapping | None = None,
        **kwargs,
    ):
        prefix = f"f-{field.id}"
        initial = kwargs.pop("initial", None) or {}
        if rule is not None and not initial:
            initial = {
                "source": source_value(rule),
                "constant": _constant_text(rule.constant),
                "template": rule.template,
                "default": _constant_text(rule.default),
            }
        super().__init__(*args, prefix=prefix, initial=initial, **kwargs)
        self.kickoff_field = field
        self.compatible = engine.compatible_sources(field, sources)
        self.sources_by_key = {s.key: s for s in sources}
        choices = [(LEAVE_EMPTY, "— leave empty —")]
        choices += [(f"field:{s.key}", f"{s.label or s.key} · {s.type}") for s in self.compatible]
        choices += [(CONSTANT, "A constant value…"), (TEMPLATE, "A text template…")]
        self.fields["source"].choices = choices
        # The builder shows these inputs without a visible <label>: name them for screen readers.
        self.fields["constant"].widget.attrs["aria-label"] = f"Constant value for {field.label}"
        self.fields["template"].widget.attrs["aria-label"] = f"Text template for {field.label}"
        self.fields["default"].widget.attrs["aria-label"] = f"If empty, use for {field.label}"
        if field.field_type == "date":
            # A date picker, not free text: Tallyfy wants a date it can read.
            for name in ("constant", "default"):
                self.fields[name].widget = forms.DateInput(
                    attrs={**self.fields[name].widget.attrs, "type": "date"}
                )
        # Filled by the builder: a source to offer (`engine.Suggestion`) and what recent
        # submissions answered to the chosen one (`samples.SourceSamples`).
        self.suggestion = None
        self.samples = None
        if field.field_type in CHOICE_TYPES:
            self.fields["constant"].help_text = "One of: " + ", ".join(
                f"“{o.text}”" for o in field.options
            )
        self.saved_option_map = dict(rule.option_map or {}) if rule else {}
        self.has_rule = rule is not None
        self._add_option_fields()

    # --- choice fields: an option table ------------------------------------------------------

    def chosen_source(self) -> Answer | None:
        value = self.data.get(self.add_prefix("source")) if self.is_bound else None
        if value is None:
            value = self.initial.get("source", LEAVE_EMPTY)
        if value and value.startswith("field:"):
            return self.sources_by_key.get(value.removeprefix("field:"))
        return None

    def _add_option_fields(self) -> None:
        self.option_rows: list[tuple[str, Any]] = []
        source = self.chosen_source()
        if self.kickoff_field.field_type not in CHOICE_TYPES or source is None:
            return
        if not source.options:
            return
        matched = engine.auto_match_options(source.options, self.kickoff_field.options)["matched"]
        choices = [("", "— no match —")] + [(o.text, o.text) for o in self.kickoff_field.options]
        if self.is_bound:
            self.data = self.data.copy()
        for option in source.options:
            name = f"opt-{option.id}"
            initial = self.saved_option_map.get(option.id) or matched.get(option.id, "")
            if self.is_bound and self.add_prefix(name) not in self.data:
                # The table was not on the page (its source was just chosen): a bound form
                # would show every option unmatched; offer the saved or matching one instead.
                self.data[self.add_prefix(name)] = initial
            self.fields[name] = forms.ChoiceField(
                required=False, choices=choices, initial=initial, label=option.text
            )
            self.option_rows.append((option, self[name]))

    def sends_nothing(self) -> bool:
        """A constant or a template left blank: the row fits, but fills nothing."""
        source = self["source"].value()
        if source == CONSTANT:
            return not str(self["constant"].value() or "").strip()
        if source == TEMPLATE:
            return not str(self["template"].value() or "").strip()
        return False

    def empty_warning(self) -> bool:
        """Whether recent submissions left the chosen source empty while this required
        field needs a value: the "if empty, use…" input is then pressed on the operator."""
        s = self.samples
        return bool(self.kickoff_field.required and s and s.empty)

    # --- result ------------------------------------------------------------------------------

    def rule(self) -> RuleInput:
        """The rule this row describes (call after is_valid())."""
        data = self.cleaned_data
        source = data.get("source") or LEAVE_EMPTY
        target = self.kickoff_field.id
        if source.startswith("field:"):
            option_map = {
                option.id: data.get(f"opt-{option.id}")
                for option, _ in self.option_rows
                if data.get(f"opt-{option.id}")
            }
            return RuleInput(
                target_field_id=target,
                source=FieldMapping.Source.FIELD,
                source_key=source.removeprefix("field:"),
                option_map=option_map,
                default=_constant_value(self.kickoff_field, data["default"])
                if data.get("default", "").strip()
                else None,
            )
        if source == CONSTANT:
            return RuleInput(
                target_field_id=target,
                source=FieldMapping.Source.CONSTANT,
                constant=_constant_value(self.kickoff_field, data.get("constant", "")),
            )
        if source == TEMPLATE:
            return RuleInput(
                target_field_id=target,
                source=FieldMapping.Source.TEMPLATE,
                template=data.get("template", ""),
            )
        return RuleInput(target_field_id=target)


def _constant_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _constant_value(field: KickoffField, text: str) -> Any:
    """Constants are typed in as text; JSON is accepted for structured field types."""
    if field.field_type in {"table", "file", "assignees_form", "multiselect"}:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


class MappingSettingsForm(forms.Form):
    name = forms.CharField(max_length=200, label="Mapping name")
    name_template = forms.CharField(
        max_length=550,
        label="Process name",
        help_text="Placeholders in braces: a Tally field's key or label, e.g. "
        "“Onboarding – {Company}”. Always sent; Tallyfy requires a name.",
    )
    summary_template = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Process summary"
    )
    tags = forms.CharField(required=False, help_text="Comma-separated tag ids.")
    folders = forms.CharField(required=False, help_text="Comma-separated folder ids.")
    owner_id = forms.IntegerField(
        required=False,
        # Tallyfy user ids are positive; past 2^63-1 the JSON column's bigint cast fails.
        min_value=1,
        max_value=2**63 - 1,
        label="Fallback owner (Tallyfy user id)",
        help_text="Used only when the People section below names no process owner.",
    )

    def clean_tags(self):
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]

    def clean_folders(self):
        return [t.strip() for t in self.cleaned_data["folders"].split(",") if t.strip()]


class NewMappingForm(forms.Form):
    kind = forms.ChoiceField(
        label="What should a submission do?",
        choices=[
            (Mapping.Kind.LAUNCH, "Launch a process"),
            (Mapping.Kind.COMPLETE_TASK, "Complete a task in a running process"),
        ],
        widget=forms.RadioSelect,
        initial=Mapping.Kind.LAUNCH,
        required=False,
    )
    tally_form = forms.ChoiceField(label="Tally form")
    tallyfy_template = forms.ChoiceField(label="Tallyfy template")
    step = forms.ChoiceField(required=False, label="Step")
    name = forms.CharField(max_length=200, required=False, label="Name (optional)")

    def __init__(self, *args, form_choices, template_choices, steps=None, steps_url="", **kwargs):
        """`steps`: the chosen template's steps (None: not read, or Tallyfy did not list
        them); an approval step says so. `steps_url` redraws the step picker when the kind
        or the template changes."""
        super().__init__(*args, **kwargs)
        redraw = {
            "hx-get": steps_url,
            "hx-target": "#step-field",
            "hx-swap": "outerHTML",
            "hx-include": "[name=kind]:checked,#id_tallyfy_template,#id_tallyfy",
            "hx-sync": "#step-field:replace",
        }
        self.fields["kind"].widget.attrs.update(redraw)
        self.fields["tallyfy_template"].widget.attrs.update(redraw)
        self.fields["tally_form"].choices = [("", "Choose a form…"), *form_choices]
        self.fields["tallyfy_template"].choices = [("", "Choose a template…"), *template_choices]
        self.steps = steps
        self.fields["step"].choices = [("", "Choose a step…")] + [
            (s.id, f"{s.title} · approval" if s.is_approval else s.title) for s in steps or ()
        ]

    def clean_kind(self):
        # Launching is what a mapping did before there was a choice: the default.
        return self.cleaned_data.get("kind") or Mapping.Kind.LAUNCH

    def clean(self):
        data = super().clean()
        task = data.get("kind") == Mapping.Kind.COMPLETE_TASK
        if task and self.steps and not data.get("step"):
            self.add_error("step", "Pick the step whose task a submission completes.")
        return data
