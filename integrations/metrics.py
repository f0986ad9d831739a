"""`GET /metrics`: Prometheus text format, behind a bearer token (`METRICS_TOKEN`).

Durable figures come from the database at scrape time (received submissions, deliveries
by status, attempts by outcome, attempt latency, queue lag, outbox age), so every web
process answers the same. What is never stored (requests rejected before anything is
written) is counted in the shared cache (Redis in production). No token configured → 404:
the page does not exist until an operator decides who may read it.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .models import Delivery, DeliveryAttempt, Endpoint, Submission
from .selectors.deliveries import delivery_queue_lag

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
    try:
        return int(cache.get(_PREFIX + reason) or 0)
    except Exception:
        return 0


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render() -> str:
    now = timezone.now()
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]):
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{k}="{_esc(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")

    received = dict(
        Submission.objects.values_list("source").annotate(n=Count("id")).values_list("source", "n")
    )
    metric(
        "kickoff_submissions_received_total",
        "counter",
        "Submissions stored, by how they arrived.",
        [({"source": s}, received.get(s, 0)) for s in Submission.Source.values],
    )
    signature_failures = Endpoint.objects.aggregate(n=Sum("signature_failures"))["n"] or 0
    rejected = [({"reason": r}, _counter(r)) for r in REJECTION_REASONS]
    metric(
        "kickoff_webhooks_rejected_total",
        "counter",
        "Webhook requests refused before anything was stored, by reason.",
        rejected,
    )
    metric(
        "kickoff_webhook_signature_failures_total",
        "counter",
        "Webhook requests with a missing or wrong Tally-Signature (durable, all endpoints).",
        [({}, signature_failures)],
    )
    metric(
        "kickoff_webhooks_duplicate_total",
        "counter",
        "Webhook deliveries of a submission already stored (answered 200, nothing new).",
        [({}, _counter("duplicate"))],
    )
    metric(
        "kickoff_webhooks_ignored_total",
        "counter",
        "Webhook events of a type Kickoff does not handle (answered 200).",
        [({}, _counter("ignored_event_type"))],
    )
    by_status = dict(
        Delivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    metric(
        "kickoff_deliveries",
        "gauge",
        "Deliveries by current status.",
        [({"status": s}, by_status.get(s, 0)) for s in Delivery.Status.values],
    )
    by_outcome = dict(
        DeliveryAttempt.objects.exclude(outcome="")
        .values_list("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    metric(
        "kickoff_delivery_attempts_total",
        "counter",
        "Delivery attempts by outcome.",
        [({"outcome": o}, by_outcome.get(o, 0)) for o in DeliveryAttempt.Outcome.values],
    )
    finished = DeliveryAttempt.objects.filter(duration_ms__isnull=False)
    agg = finished.aggregate(
        count=Count("id"),
        total=Sum("duration_ms"),
        **{f"le_{b}": Count("id", filter=Q(duration_ms__lte=b)) for b in LATENCY_BUCKETS_MS},
    )
    buckets = [({"le": f"{b / 1000:g}"}, agg[f"le_{b}"]) for b in LATENCY_BUCKETS_MS]
    buckets.append(({"le": "+Inf"}, agg["count"]))
    lines.append("# HELP kickoff_delivery_attempt_seconds Duration of delivery attempts.")
    lines.append("# TYPE kickoff_delivery_attempt_seconds histogram")
    for labels, value in buckets:
        lines.append(f'kickoff_delivery_attempt_seconds_bucket{{le="{labels["le"]}"}} {value}')
    lines.append(f"kickoff_delivery_attempt_seconds_sum {(agg['total'] or 0) / 1000:g}")
    lines.append(f"kickoff_delivery_attempt_seconds_count {agg['count']}")
    lag = delivery_queue_lag(now=now)
    metric(
        "kickoff_delivery_queue_lag_seconds",
        "gauge",
        "Age of the oldest delivery waiting to be tried (pending, or retrying and due).",
        [({}, round(lag.total_seconds(), 3) if lag else 0.0)],
    )
    # Never published: more than a second or two means no dispatcher is running.
    oldest_unsent = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__isnull=True
    ).aggregate(t=Min("created_at"))["t"]
    metric(
        "kickoff_outbox_oldest_unsent_seconds",
        "gauge",
        "Age of the oldest new delivery the dispatcher has not yet sent to the broker.",
        [({}, round((now - oldest_unsent).total_seconds(), 3) if oldest_unsent else 0.0)],
    )
    return "\n".join(lines) + "\n"


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
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
    return HttpResponse(render(), content_type="text/plain; version=0.0.4; charset=utf-8")
