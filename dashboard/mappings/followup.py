"""The follow-up form of a launch mapping: the Tally form `{followup_link}` opens,
prefilled with the delivery's reference in its hidden field `kickoff_ref` (Tally fills
hidden fields from URL parameters), so a "Complete a task" mapping of that form finds the
run. The builder offers the forms of the mapping's Tally account, the ready ones first,
and says what to add in Tally to the others."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.forms.utils import ErrorDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from integrations.http import NotFound
from integrations.models import Mapping
from integrations.selectors.tally import cached_call, tally_forms
from integrations.tally.answers import answers_from_questions

from ..access import EDIT_MAPPINGS, requires
from .task_forms import REF_NAME, RUN_NAME

LINK = "{followup_link}"
#: Forms whose hidden fields are read (cached) to sort them; the rest are listed unchecked.
CHECKED_FORMS = 20


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    hidden: frozenset[str] | None  # hidden field names; None: could not be read
    # The hidden field the link fills: a launch's reference, or (a task mapping's link for
    # the next step) the run's id.
    needs: str = REF_NAME

    @property
    def ready(self) -> bool:
        return bool(self.hidden and self.needs in self.hidden)

    @property
    def hint(self) -> str:
        what = "the delivery's reference" if self.needs == REF_NAME else "the run's id"
        if self.ready:
            return (
                f"“{self.name}” has the hidden field {self.needs}: the link fills it with {what}."
            )
        if self.hidden is None:
            return (
                f"Could not read the questions of “{self.name}”. It needs a Hidden fields "
                f"block with the field {self.needs}."
            )
        return f"Add a Hidden fields block with the field {self.needs} to “{self.name}”."


def candidates(mapping: Mapping) -> list[Candidate]:
    """The other forms of the mapping's Tally account: ready ones (a `kickoff_ref` or
    `run_id` hidden field) first, then the rest, each in Tally's order."""
    rows = [
        r.form
        for r in tally_forms().rows
        if r.connection.pk == mapping.tally_connection_id and r.form.id != mapping.form_id
    ]
    needs = RUN_NAME if mapping.kind == Mapping.Kind.COMPLETE_TASK else REF_NAME
    out = []
    for n, form in enumerate(rows):
        hidden = _hidden_names(mapping, form.id) if n < CHECKED_FORMS else None
        out.append(Candidate(form.id, form.name, hidden, needs))
    return sorted(out, key=lambda c: not (c.hidden and c.hidden & {REF_NAME, RUN_NAME}))


def _hidden_names(mapping: Mapping, form_id: str) -> frozenset[str] | None:
    try:
        fetched = cached_call(
            mapping.tally_connection,
            ("questions", form_id),
            lambda c: c.get_questions(form_id),
            empty=[],
        )
    except NotFound:
        return None
    if fetched.error:
        return None
    return frozenset(
        (a.label or "").strip()
        for a in answers_from_questions(fetched.data)
        if a.type == "HIDDEN_FIELDS"
    )


class FollowupForm(forms.Form):
    followup_form_id = forms.ChoiceField(required=False, label="Follow-up form")

    def __init__(self, data, *, found: list[Candidate], saved: str, uses_link: bool, url: str):
        super().__init__(data, initial={"followup_form_id": saved})
        self.uses_link = uses_link
        ready = [(c.id, c.name) for c in found if c.ready]
        others = [(c.id, f"{c.name} — needs {REF_NAME}") for c in found if not c.ready]
        choices: list = [("", "— none —")]
        if ready:
            choices.append((f"Ready: has the hidden field {REF_NAME}", ready))
        if others:
            choices.append(("Needs a hidden field first", others))
        if saved and saved not in {c.id for c in found}:
            choices.append((saved, f"{saved} (no longer listed in Tally)"))
        self.fields["followup_form_id"].choices = choices
        self.fields["followup_form_id"].widget.attrs.update(
            {
                "hx-get": url,
                "hx-target": "#followup-hint",
                "hx-swap": "outerHTML",
                "hx-trigger": "change",
            }
        )

    def clean(self):
        data = super().clean()
        if self.uses_link and not data.get("followup_form_id"):
            self.add_error(
                "followup_form_id",
                f"{LINK} is used, but no follow-up form is chosen: pick the form it opens, "
                f"or remove {LINK}.",
            )
        return data

    def quiet(self) -> None:
        if self.is_bound:
            self._errors = ErrorDict()


def uses_link(data) -> bool:
    """Whether the posted builder puts `{followup_link}` in the summary or a text template."""
    if data is None:
        return False
    return any(
        LINK in value
        for key, value in data.items()
        if key == "summary_template" or key.endswith(("-template", "-constant"))
    )


def link_shape(form_id: str, *, task: bool = False) -> str:
    """What the link looks like: a launch's carries its reference; a task mapping's (for
    the next step, in a task field) the run's id."""
    name = RUN_NAME if task else REF_NAME
    return f"{settings.TALLY_FORMS_BASE_URL.rstrip('/')}/{form_id}?{name}=…"


def followup_context(mapping: Mapping, data, version) -> dict:
    """The launch builder's "Follow-up form" block (`data`: the posted builder, or None)."""
    found = candidates(mapping)
    saved = version.followup_form_id if version else ""
    form = FollowupForm(
        data,
        found=found,
        saved=saved,
        uses_link=uses_link(data),
        url=reverse("dashboard:mapping_followup_hint", args=[mapping.pk]),
    )
    chosen = form["followup_form_id"].value() or ""
    return {
        "followup_form": form,
        "followup": next((c for c in found if c.id == chosen), None),
        "followup_chosen": chosen,
        "followup_link_shape": link_shape(chosen, task=mapping.kind == Mapping.Kind.COMPLETE_TASK)
        if chosen
        else "",
    }


@requires(EDIT_MAPPINGS)
def mapping_followup_hint(request, pk: int):
    """What the chosen follow-up form needs, redrawn when the choice changes."""
    mapping = get_object_or_404(Mapping.objects.select_related("tally_connection"), pk=pk)
    chosen = request.GET.get("followup_form_id", "")
    found = candidates(mapping)
    return render(
        request,
        "dashboard/mappings/_followup.html#followup_hint",
        {
            "followup": next((c for c in found if c.id == chosen), None),
            "followup_chosen": chosen,
            "followup_link_shape": link_shape(
                chosen, task=mapping.kind == Mapping.Kind.COMPLETE_TASK
            )
            if chosen
            else "",
        },
    )
