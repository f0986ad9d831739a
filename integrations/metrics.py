"""`GET /metrics`: Prometheus text (prometheus_client), behind a bearer token (`METRICS_TOKEN`).

Durable figures come from the database at scrape time (received submissions, deliveries
by status, attempts by outcome, attempt latency, queue lag, outbox age), so every web
process answers the same. What is never stored (requests rejected before anything is
written) is counted in the shared cache (Redis in production). No token configured → 404:
the page does not exist until an operator decides who may read it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .models import Delivery, DeliveryAttempt, Endpoint, Submission
from .selectors.overview import delivery_queue_lag

log = logging.getLogger(__name__)

#: Receiver outcomes counted in the cache (label `reason` of kickoff_webhooks_rejected_total).
REJECTION_REASONS = (
    "too_large",
    "unknown_endpoint",
    "signature_missing",
    "signature_mismatch",
    "bad_envelope",
    "wrong_form",
)
OTHER_COUNTERS = ("duplicate", "ignored_event_type")
LATENCY_BUCKETS_MS = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
_PREFIX = "kickoff:metrics:"


def count_rejection(reason: str) -> None:
    """Add one to a receiver counter; never raises (metrics must not cost a webhook)."""
    key = _PREFIX + reason
    try:
        cache.add(key, 0, None)
        cache.incr(key)
    except Exception:  # cache down or evicted between add and incr
        log.debug("metrics counter %s not counted", reason)


def _counter(reason: str) -> int:
    """A receiver counter's value in the cache (0 while the cache is down)."""
    try:
        return int(cache.get(_PREFIX + reason) or 0)
    except Exception:
        return 0


def _by(queryset: QuerySet, column: str) -> dict[str, int]:
    """Row counts of `queryset` grouped by `column`."""
    return dict(queryset.values_list(column).annotate(n=Count("id")).values_list(column, "n"))


def _outbox_oldest_unsent_seconds(now: datetime) -> float:
    """Age of the oldest new delivery never published (more than a second or two: no
    dispatcher is running)."""
    oldest = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__isnull=True
    ).aggregate(t=Min("created_at"))["t"]
    return (now - oldest).total_seconds() if oldest else 0.0


def _latency() -> HistogramMetricFamily:
    """Attempt durations as a cumulative histogram, counted in the database."""
    agg = DeliveryAttempt.objects.filter(duration_ms__isnull=False).aggregate(
        count=Count("id"),
        total=Sum("duration_ms"),
        **{f"le_{b}": Count("id", filter=Q(duration_ms__lte=b)) for b in LATENCY_BUCKETS_MS},
    )
    buckets = [(f"{b / 1000:g}", agg[f"le_{b}"]) for b in LATENCY_BUCKETS_MS]
    return HistogramMetricFamily(
        "kickoff_delivery_attempt_seconds",
        "Duration of delivery attempts.",
        buckets=[*buckets, ("+Inf", agg["count"])],
        sum_value=(agg["total"] or 0) / 1000,
    )


def _family(
    kind: type[CounterMetricFamily | GaugeMetricFamily],
    name: str,
    help_text: str,
    label: str,
    values: Mapping[str, float],
) -> Metric:
    """One metric family with a sample per value of its single label."""
    family = kind(name, help_text, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


class KickoffCollector(Collector):
    """Every Kickoff metric, read afresh from the database and the cache on each scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        received = _by(Submission.objects, "source")
        yield _family(
            CounterMetricFamily,
            "kickoff_submissions_received",
            "Submissions stored, by how they arrived.",
            "source",
            {s: received.get(s, 0) for s in Submission.Source.values},
        )
        yield _family(
            CounterMetricFamily,
            "kickoff_webhooks_rejected",
            "Webhook requests refused before anything was stored, by reason.",
            "reason",
            {r: _counter(r) for r in REJECTION_REASONS},
        )
        yield CounterMetricFamily(
            "kickoff_webhook_signature_failures",
            "Webhook requests with a missing or wrong Tally-Signature (durable, all endpoints).",
            value=Endpoint.objects.aggregate(n=Sum("signature_failures"))["n"] or 0,
        )
        yield CounterMetricFamily(
            "kickoff_webhooks_duplicate",
            "Webhook deliveries of a submission already stored (answered 200, nothing new).",
            value=_counter("duplicate"),
        )
        yield CounterMetricFamily(
            "kickoff_webhooks_ignored",
            "Webhook events of a type Kickoff does not handle (answered 200).",
            value=_counter("ignored_event_type"),
        )
        by_status = _by(Delivery.objects, "status")
        yield _family(
            GaugeMetricFamily,
            "kickoff_deliveries",
            "Deliveries by current status.",
            "status",
            {s: by_status.get(s, 0) for s in Delivery.Status.values},
        )
        by_outcome = _by(DeliveryAttempt.objects.exclude(outcome=""), "outcome")
        yield _family(
            CounterMetricFamily,
            "kickoff_delivery_attempts",
            "Delivery attempts by outcome.",
            "outcome",
            {o: by_outcome.get(o, 0) for o in DeliveryAttempt.Outcome.values},
        )
        yield _latency()
        yield GaugeMetricFamily(
            "kickoff_delivery_queue_lag_seconds",
            "Age of the oldest delivery waiting to be tried (pending, or retrying and due).",
            value=round((lag.total_seconds() if (lag := delivery_queue_lag(now=now)) else 0.0), 3),
        )
        yield GaugeMetricFamily(
            "kickoff_outbox_oldest_unsent_seconds",
            "Age of the oldest new delivery the dispatcher has not yet sent to the broker.",
            value=round(_outbox_oldest_unsent_seconds(now), 3),
        )


# Only this collector: no process or platform metrics, which would differ per web process.
# Without auto_describe, registering does not query the database.
registry = CollectorRegistry(auto_describe=False)
registry.register(KickoffCollector())


def render() -> bytes:
    """The Prometheus text exposition (format 0.0.4) of every Kickoff metric."""
    return generate_latest(registry)


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics for a scraper holding the bearer token; 404 while no token is set."""
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        raise Http404("Metrics are off (no METRICS_TOKEN).")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8")
    ):
        response = HttpResponse(
            "A valid bearer token is required.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
