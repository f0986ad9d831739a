"""The Tally webhook receiver: `POST /hooks/tally/<key>/`, and the ingest service it shares
with reconcile.

Tally waits 10 s at most and retries a failure five times over a day
(shared/API-NOTES.md), so the receiver does only what makes the submission durable:
verify, parse, store the Submission and its Delivery rows in one transaction, and enqueue
after commit. It never calls Tallyfy. Order of checks (each answers before the next runs):

    body > 1 MiB → 413 · unknown key → 404 · missing/wrong signature → 401 (counted)
    · not JSON / not an envelope → 400 with the reason · other eventType → 200, ignored
    · duplicate (eventId, or formId + submissionId) → 200, nothing new · else 200.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import metrics
from .delivery import deliveries_enqueue
from .models import Delivery, Endpoint, Mapping, Submission
from .tally import webhook
from .tally.answers import answers_from_webhook, display

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB; Tally's payloads are a few KB
SEARCH_TEXT_MAX = 20_000
# Request headers worth keeping beside the raw body (never Authorization or cookies).
HEADERS_OF_NOTE = ("Content-Type", "User-Agent", "Tally-Signature", "X-Forwarded-For")


@dataclass
class Ingested:
    """What ingesting one FORM_RESPONSE did."""

    submission_id: int | None
    created: bool
    delivery_ids: list[int] = field(default_factory=list)


def _search_text(fields: list[dict[str, Any]]) -> str:
    """Answer texts, flattened for the deliveries search box (option ids resolved)."""
    try:
        answers = answers_from_webhook({"fields": fields})
        parts = [text for a in answers if (text := display(a).text)]
    except Exception:  # a display bug must never cost a submission
        log.exception("could not flatten answers for search")
        return ""
    return " · ".join(parts)[:SEARCH_TEXT_MAX]


def submission_ingest(
    *,
    endpoint: Endpoint,
    response: webhook.FormResponse,
    raw_body: bytes,
    headers: dict[str, str] | None = None,
    source: str = Submission.Source.WEBHOOK,
) -> Ingested:
    """Store one FORM_RESPONSE and its deliveries in one transaction; enqueue after commit.

    A duplicate (same eventId, or same form + submission from another webhook or a
    redelivery) stores nothing and creates no delivery. Safe under concurrency: the
    unique constraints decide, not a prior SELECT.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                endpoint=endpoint,
                tally_connection_id=endpoint.tally_connection_id,
                event_id=response.event.event_id,
                form_id=response.form_id,
                submission_id=response.submission_id,
                respondent_id=response.respondent_id,
                form_name=response.form_name[:250],
                raw_body=raw_body,
                payload=response.payload,
                headers=headers or {},
                search_text=_search_text(response.fields),
                source=source,
                submitted_at=response.submitted_at,
                received_at=now,
            )
            # Fan-out: one delivery per enabled mapping of this form (index mapping_form).
            mappings = Mapping.objects.filter(
                tally_connection_id=endpoint.tally_connection_id,
                form_id=response.form_id,
                status=Mapping.Status.ENABLED,
                current_version__isnull=False,
            ).values_list("pk", "current_version_id")
            deliveries = Delivery.objects.bulk_create(
                Delivery(
                    submission=submission,
                    mapping_id=mapping_id,
                    mapping_version_id=version_id,
                    created_at=now,
                )
                for mapping_id, version_id in mappings
            )
            ids = [d.pk for d in deliveries]
            transaction.on_commit(lambda: deliveries_enqueue(ids))
    except IntegrityError:
        existing = (
            Submission.objects.filter(
                Q(event_id=response.event.event_id)
                | Q(form_id=response.form_id, submission_id=response.submission_id)
            )
            .values_list("pk", flat=True)
            .first()
        )
        if existing is None:
            raise  # not a duplicate: a real fault, let it surface
        log.info(
            "duplicate submission %s of form %s (event %s): nothing stored",
            response.submission_id,
            response.form_id,
            response.event.event_id,
            extra={"submission_id": existing, "event_id": response.event.event_id},
        )
        return Ingested(submission_id=existing, created=False)
    log.info(
        "stored submission %s (%s) of form %s with %d deliveries",
        submission.pk,
        source,
        response.form_id,
        len(ids),
        extra={"submission_id": submission.pk, "delivery_ids": ids},
    )
    return Ingested(submission_id=submission.pk, created=True, delivery_ids=ids)


# ---------------------------------------------------------------------------------------
# The view
# ---------------------------------------------------------------------------------------


def _reject(status: int, reason: str, code: str, *, endpoint_id: int | None = None):
    metrics.count_rejection(code)
    log.warning(
        "rejected webhook (%s %s): %s",
        status,
        code,
        reason,
        extra={"endpoint_id": endpoint_id, "reason": code},
    )
    return JsonResponse({"error": code, "message": reason}, status=status)


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over the cap (without reading more than the cap)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


@csrf_exempt
@require_POST
def tally_webhook(request: HttpRequest, key: str) -> JsonResponse:
    """Receive one Tally webhook delivery for the endpoint `key`."""
    body = _read_body(request)
    if body is None:
        return _reject(413, f"The body is larger than {MAX_BODY_BYTES} bytes.", "too_large")
    endpoint = (
        Endpoint.objects.filter(key=key)
        .only("pk", "key", "signing_secret", "tally_connection_id", "form_id")
        .first()
        if len(key) <= 64
        else None
    )
    if endpoint is None:
        return _reject(404, "No webhook endpoint has this address.", "unknown_endpoint")
    given = request.headers.get(webhook.SIGNATURE_HEADER)
    if not webhook.signature_matches(endpoint.signing_secret, body, given):
        Endpoint.objects.filter(pk=endpoint.pk).update(
            signature_failures=F("signature_failures") + 1,
            last_signature_failure_at=timezone.now(),
        )
        reason = (
            f"The {webhook.SIGNATURE_HEADER} header is missing."
            if not given
            else f"The {webhook.SIGNATURE_HEADER} header does not match the body."
        )
        code = "signature_missing" if not given else "signature_mismatch"
        return _reject(401, reason, code, endpoint_id=endpoint.pk)
    try:
        data = webhook.load_json(body)
        event = webhook.parse_event(data)
        if event.event_type != webhook.FORM_RESPONSE:
            metrics.count_rejection("ignored_event_type")
            log.info("ignored Tally event type %r", event.event_type[:40])
            return JsonResponse({"status": "ignored", "eventType": event.event_type[:100]})
        response = webhook.parse_form_response(data)
    except webhook.BadEnvelope as exc:
        return _reject(400, exc.reason, "bad_envelope", endpoint_id=endpoint.pk)
    if response.form_id != endpoint.form_id:
        return _reject(
            400,
            f"data.formId {response.form_id!r} is not the form of this endpoint.",
            "wrong_form",
            endpoint_id=endpoint.pk,
        )
    headers = {h: request.headers[h][:500] for h in HEADERS_OF_NOTE if h in request.headers}
    result = submission_ingest(endpoint=endpoint, response=response, raw_body=body, headers=headers)
    if not result.created:
        metrics.count_rejection("duplicate")
        return JsonResponse({"status": "duplicate"})
    return JsonResponse({"status": "stored", "deliveries": len(result.delivery_ids)})
