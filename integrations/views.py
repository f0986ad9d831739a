"""The Tally webhook receiver: `POST /hooks/tally/<key>/`.

Tally waits 10 s at most and retries a failure five times over a day
(docs/vendor-notes.md), so the view does only what makes the submission durable: verify,
parse, and hand it to the ingest (`integrations.ingest`), which stores the Submission and
its Delivery rows in one transaction. Order of checks (each answers before the next runs):

    body > 1 MiB → 413 · unknown key → 404 · missing/wrong signature → 401 (counted)
    · not JSON / not an envelope → 400 with the reason · other eventType → 200, ignored
    · duplicate (eventId, or formId + submissionId) → 200, nothing new · else 200.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import abuse, metrics
from .ingest import endpoint_cache, submission_ingest
from .models import Endpoint
from .tally import webhook

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB; Tally's payloads are a few KB
# Request headers worth keeping beside the raw body (never Authorization or cookies).
HEADERS_OF_NOTE = ("Content-Type", "User-Agent", "Tally-Signature", "X-Forwarded-For")


def _reject(status: int, reason: str, code: str, *, endpoint_id: int | None = None):
    metrics.count_rejection(code)
    # Sampled (integrations.abuse): a flood of forgeries writes a line now and then.
    folded = abuse.rejection_logs.hit((code, endpoint_id))
    if folded:
        log.warning(
            "rejected webhook (%s %s): %s%s",
            status,
            code,
            reason,
            f" (and {folded - 1} more like it since the last line)" if folded > 1 else "",
            extra={"endpoint_id": endpoint_id, "reason": code, "count": folded},
        )
    return JsonResponse({"error": code, "message": reason}, status=status)


def _unknown_endpoint() -> JsonResponse:
    return _reject(404, "No webhook endpoint has this address.", "unknown_endpoint")


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over the cap (without reading more than the cap)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    if (
        not request.META.get("CONTENT_LENGTH")
        and "chunked" in (request.META.get("HTTP_TRANSFER_ENCODING") or "").lower()
    ):
        # Django limits its own stream to Content-Length, so a chunked body (no length)
        # reads as empty; the server's stream (gunicorn de-chunks it) holds the body.
        stream = request.META.get("wsgi.input")
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    else:
        body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


@csrf_exempt
@require_POST
def tally_webhook(request: HttpRequest, key: str) -> JsonResponse:
    """Receive one Tally webhook delivery for the endpoint `key`."""
    body = _read_body(request)
    if body is None:
        return _reject(413, f"The body is larger than {MAX_BODY_BYTES} bytes.", "too_large")
    endpoint = endpoint_cache.get(key)
    if endpoint is None:
        return _unknown_endpoint()
    given = request.headers.get(webhook.SIGNATURE_HEADER)
    if not webhook.signature_matches(endpoint.signing_secret, body, given) and (
        # The cached secret may be older than the endpoint's: ask the database once more.
        (endpoint := endpoint_cache.get(key, fresh=True)) is None
        or not webhook.signature_matches(endpoint.signing_secret, body, given)
    ):
        if endpoint is None:
            return _unknown_endpoint()
        # One UPDATE per endpoint and window, adding every failure folded into it: a
        # forgery costs no database write of its own (integrations.abuse).
        if failures := abuse.signature_writes.hit(endpoint.pk):
            Endpoint.objects.filter(pk=endpoint.pk).update(
                signature_failures=F("signature_failures") + failures,
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
    try:
        result = submission_ingest(
            endpoint=endpoint, response=response, raw_body=body, headers=headers
        )
    except IntegrityError:
        if endpoint_cache.get(key, fresh=True) is None:  # deleted since it was cached
            return _unknown_endpoint()
        raise
    if not result.created:
        metrics.count_rejection("duplicate")
        return JsonResponse({"status": "duplicate"})
    return JsonResponse({"status": "stored", "deliveries": len(result.delivery_ids)})
