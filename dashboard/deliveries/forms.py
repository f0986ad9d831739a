"""Django forms of the Deliveries section."""

from __future__ import annotations

from django import forms
from django.utils import timezone


class RecoverForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed since",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_since(self):
        since = self.cleaned_data["since"]
        if since > timezone.now():
            raise forms.ValidationError("That is in the future.")
        return since
