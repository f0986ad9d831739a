"""The Forms section's filters, read from the query string: the forms list (search, account,
workspace), a form's submissions (status, dates, the Load-more pin) and the analytics period.

Plain Django forms rather than django-filter FilterSets: nothing here filters a queryset —
the forms list is what Tally answered, and the other two become the arguments of a Tally
call.
"""

from __future__ import annotations

from django import forms

from ..date_bounds import BOUNDED
from .analytics import PERIOD_LABELS


class FormListFilter(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=200)
    account = forms.TypedChoiceField(required=False, label="Account", coerce=int, empty_value=None)
    workspace = forms.ChoiceField(required=False, label="Workspace")

    def __init__(self, *args, connections=(), workspaces=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [("", "All accounts")] + [
            (c.pk, c.label) for c in connections
        ]
        self.fields["workspace"].choices = [("", "All workspaces")] + [
            (w, w) for w in sorted(workspaces)
        ]


STATUS_CHOICES = [("all", "All"), ("completed", "Completed"), ("partial", "Partial")]


class SubmissionFilter(forms.Form):
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Show")
    start = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=BOUNDED,
    )
    end = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=BOUNDED,
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # Load more pins the list to the newest row first shown, so that submissions arriving
    # meanwhile do not shift Tally's pages (and repeat rows).
    until = forms.DateTimeField(required=False, widget=forms.HiddenInput, validators=BOUNDED)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        data["status"] = data.get("status") or "all"
        data["page"] = data.get("page") or 1
        return data


class PeriodFilter(forms.Form):
    period = forms.ChoiceField(required=False, choices=list(PERIOD_LABELS.items()), label="Period")


def valid_filters(form: forms.Form) -> dict:
    """The valid filters, or the defaults when the query string is invalid."""
    if form.is_valid():
        return form.cleaned_data
    return {name: form.fields[name].initial for name in form.fields} | {
        k: v for k, v in form.cleaned_data.items() if k not in form.errors
    }
