"""The Overview page: first steps, and delivery health at a glance."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from integrations.models import Connection, Delivery, Mapping, Provider
from integrations.selectors.kinds import succeeded_by_kind
from integrations.selectors.overview import overview_stats
from integrations.selectors.routing import unrouted_submissions

from ..access import staff_required
from ..durations import format_duration


@staff_required
def overview(request):
    connections = list(Connection.objects.all())
    by_provider = {p: [c for c in connections if c.provider == p] for p in Provider}
    steps = [
        ("Connect a Tally account", bool(by_provider[Provider.TALLY]), "dashboard:connections"),
        (
            "Connect a Tallyfy organization",
            bool(by_provider[Provider.TALLYFY]),
            "dashboard:connections",
        ),
    ]
    stats = overview_stats()
    chart = stats.chart
    chart_spec = {
        "kind": "bar",
        "stacked": True,
        "labels": chart["labels"],
        "series": [{"label": d["label"], "data": d["data"]} for d in chart["datasets"]],
    }
    steps += [
        (
            "Build and enable a mapping",
            Mapping.objects.filter(status="enabled").exists(),
            "dashboard:mappings",
        ),
    ]
    return render(
        request,
        "dashboard/overview/index.html",
        {
            "connections": connections,
            "steps": steps,
            "stats": stats,
            "chart_spec": chart_spec,
            "total_24h": sum(stats.totals_24h.values()),
            "failure_pct": None if stats.failure_rate is None else stats.failure_rate * 100,
            "queue_lag": format_duration(stats.queue_lag.total_seconds() if stats.queue_lag else 0),
            "chart_rows": list(
                zip(chart["labels"], *[d["data"] for d in chart["datasets"]], strict=True)
            ),
            "chart_series": [d["label"] for d in chart["datasets"]],
            "unrouted_24h": unrouted_submissions(since=timezone.now() - timedelta(hours=24)),
            # The chart's window, so the two kinds add up to the Succeeded figure.
            "succeeded_kinds": succeeded_by_kind(since=stats.hours[0].hour),
            "in_flight": Delivery.IN_FLIGHT,
            "retryable": Delivery.RETRYABLE,
        },
    )
