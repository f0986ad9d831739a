"""The Deliveries page's filters: the query string, validated by a FilterSet and handed to
the deliveries selectors as a `DeliveryFilters`."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet

from integrations.models import Delivery, Mapping
from integrations.selectors.deliveries import DeliveryFilters, deliveries_filtered

from ..date_bounds import BOUNDED

#: The query parameters the filters read (and carry over to the export and bulk retry).
FILTER_KEYS = (
    "q",
    "status",
    "kind",
    "mapping",
    "form",
    "preset",
    "date_from",
    "date_to",
    "http",
    "cause",
)


class DeliveryFilterForm(forms.Form):
    """The filters' form: each field on its own, plus a date range that runs forwards."""

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data


class DeliveryFilterSet(django_filters.FilterSet):
    """What the Deliveries page filters on; an invalid filter is ignored and shown as an
    error."""

    q = django_filters.CharFilter(
        max_length=200,
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "#id, e-mail, answer or error text, submission or run id…",
                "title": "A delivery (#123), a submission or respondent id, an e-mail, words "
                "of an answer or of an error, a Tallyfy run id or a Kickoff reference",
            }
        ),
    )
    status = django_filters.ChoiceFilter(
        label="Status", choices=[("", "Any status"), *Delivery.Status.choices], empty_label=None
    )
    kind = django_filters.ChoiceFilter(
        label="Kind",
        empty_label=None,
        choices=[("", "Launches and task completions"), *Mapping.Kind.choices],
    )
    mapping = django_filters.TypedChoiceFilter(label="Mapping", coerce=int, empty_value=None)
    form = django_filters.ChoiceFilter(label="Tally form", empty_label=None)
    preset = django_filters.ChoiceFilter(
        label="When",
        empty_label=None,
        choices=[
            ("", "Any time"),
            ("1h", "Last hour"),
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
        ],
    )
    date_from = django_filters.DateFilter(
        label="From", widget=forms.DateInput(attrs={"type": "date"}), validators=BOUNDED
    )
    date_to = django_filters.DateFilter(
        label="To", widget=forms.DateInput(attrs={"type": "date"}), validators=BOUNDED
    )
    http = django_filters.ChoiceFilter(
        label="HTTP status",
        empty_label=None,
        choices=[
            ("", "Any HTTP status"),
            ("2xx", "2xx"),
            ("4xx", "4xx"),
            ("5xx", "5xx"),
            ("none", "No response"),
        ],
    )

    # A cause of failure (`integrations.explain.cause_key`), set by the Overview's groups.
    cause = django_filters.CharFilter(max_length=300, widget=forms.HiddenInput)

    class Meta:
        model = Delivery
        fields: list[str] = []
        form = DeliveryFilterForm

    def __init__(self, data=None, *, mappings: list[Mapping], **kwargs):
        super().__init__(data, **kwargs)
        self.filters["mapping"].extra["choices"] = [
            ("", "Any mapping"),
            *((m.pk, m.name) for m in mappings),
        ]
        forms_seen: dict[str, str] = {}
        for m in mappings:
            forms_seen.setdefault(m.form_id, m.form_name or m.form_id)
        self.filters["form"].extra["choices"] = [
            ("", "Any form"),
            *sorted(forms_seen.items(), key=lambda kv: kv[1].lower()),
        ]

    @property
    def delivery_filters(self) -> DeliveryFilters:
        """The valid filters, for the selectors (pages, counts, export)."""
        self.is_valid()
        data = getattr(self.form, "cleaned_data", {})
        return DeliveryFilters(
            status=data.get("status") or "",
            mapping_id=data.get("mapping"),
            form_id=data.get("form") or "",
            preset=data.get("preset") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to") if "date_to" not in self.errors else None,
            http=data.get("http") or "",
            kind=data.get("kind") or "",
            q=(data.get("q") or "").strip(),
            cause=data.get("cause") or "",
        )

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # The selectors own the query: it is shaped for the indexes, and the page, its
        # counts, the export and bulk retry must all agree on what matches.
        return queryset & deliveries_filtered(self.delivery_filters)
