"""The Overview page: first steps (until they are done), delivery health at a glance, the
failed deliveries grouped by cause, and each mapping's success rate over two weeks."""

from datetime import timedelta
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from integrations.models import Connection, Delivery, Mapping, Provider
from integrations.selectors.causes import failure_causes, success_by_mapping
from integrations.selectors.kinds import succeeded_by_kind
from integrations.selectors.overview import overview_stats
from integrations.selectors.routing import unrouted_submissions

from ..access import staff_required
from ..durations import format_duration

#: Mappings drawn in the success-rate chart (the busiest ones; the table lists the same).
RATE_MAPPINGS = 8
RATE_DAYS = 14


def _steps(connections: list[Connection]) -> list[tuple[str, bool, str]]:
    providers = {c.provider for c in connections}
    return [
        ("Connect a Tally account", Provider.TALLY in providers, "dashboard:connections"),
        ("Connect a Tallyfy organization", Provider.TALLYFY in providers, "dashboard:connections"),
        (
            "Build and enable a mapping",
            Mapping.objects.filter(status="enabled").exists(),
            "dashboard:mappings",
        ),
    ]


def _cause_links(causes) -> list[dict]:
    """Each cause with its two ways on: the Deliveries page filtered to exactly those
    deliveries, and the bulk retry of the same filter (which confirms the count first)."""
    out = []
    for cause in causes:
        query = urlencode({"status": Delivery.Status.FAILED, "cause": cause.key})
        out.append(
            {
                "cause": cause,
                "view_url": f"{reverse('dashboard:deliveries')}?{query}",
                "retry_url": f"{reverse('dashboard:deliveries_bulk_retry')}?{query}",
            }
        )
    return out


def _rate_chart() -> tuple[dict, list[str], list[tuple]]:
    days, rates = success_by_mapping(days=RATE_DAYS)
    rates = sorted(rates, key=lambda r: -sum(r.finished))[:RATE_MAPPINGS]
    rates.sort(key=lambda r: r.mapping.name.lower())
    labels = [d.strftime("%b %d") for d in days]
    spec = {
        "kind": "line",
        "percent": True,
        "labels": labels,
        "series": [{"label": r.mapping.name, "data": r.rates} for r in rates],
    }
    rows = [(label, [(r.rates[i], r.finished[i]) for r in rates]) for i, label in enumerate(labels)]
    return spec, [r.mapping.name for r in rates], rows


@staff_required
def overview(request):
    connections = list(Connection.objects.all())
    steps = _steps(connections)
    stats = overview_stats()
    chart = stats.chart
    chart_spec = {
        "kind": "bar",
        "stacked": True,
        "labels": chart["labels"],
        "series": [{"label": d["label"], "data": d["data"]} for d in chart["datasets"]],
    }
    causes, failed_total = failure_causes()
    rate_spec, rate_series, rate_rows = _rate_chart()
    return render(
        request,
        "dashboard/overview/index.html",
        {
            "connections": connections,
            "steps": steps,
            "steps_done": all(done for _, done, _ in steps),
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
            "causes": _cause_links(causes),
            "failed_total": failed_total,
            "failed_grouped": sum(c.count for c in causes),
            "rate_spec": rate_spec,
            "rate_series": rate_series,
            "rate_rows": rate_rows,
        },
    )
