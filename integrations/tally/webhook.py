"""Tally webhooks: signature verification and strict parsing of the FORM_RESPONSE envelope.

Pure functions (no ORM). The receiver (`integrations.views`) verifies before it parses,
and turns every `BadEnvelope` into a 400 whose reason names the offending member.

Docs: https://tally.so/help/webhooks and docs/vendor-notes.md ("Webhook delivery"):
`Tally-Signature` is base64(HMAC-SHA256(key = signing secret as UTF-8, msg = raw body)),
no timestamp, no prefix. It must be checked over the raw bytes: re-serialised JSON differs
(key order, spacing, escapes) and would never match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_datetime

from .ids import TALLY_ID_RULE, is_tally_id

SIGNATURE_HEADER = "Tally-Signature"
FORM_RESPONSE = "FORM_RESPONSE"

# Model column sizes (integrations.models.Submission): longer ids are refused, not cut.
MAX_EVENT_ID = 64
MAX_SUBMISSION_ID = 64
MAX_FORM_ID = 32
MAX_RESPONDENT_ID = 64
# Far beyond any real form (a few levels, a few hundred fields), and well inside what the
# recursive walks of the answers and a worker's time limit can take.
MAX_DEPTH = 64
MAX_FIELDS = 5_000
# One answer longer than this is not a form answer (Tally's long text stays far below;
# Tallyfy's textarea takes 30,000): refused rather than carried through display and encoders.
MAX_STRING = 100_000
# Real time zones lie within UTC-12:00..UTC+14:00; PostgreSQL refuses offsets past 15:59.
MAX_UTC_OFFSET = timedelta(hours=14)


def signature(secret: str, body: bytes) -> str:
    """The `Tally-Signature` Tally sends for `body` signed with `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of a `Tally-Signature` header against the raw body."""
    if not secret or not header:
        return False
    expected = signature(secret, body).encode("ascii")
    given = header.strip().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


class BadEnvelope(ValueError):
    """The body is not a FORM_RESPONSE envelope we can store; `reason` says why, for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Event:
    """The envelope's identity: enough to dedupe and to decide whether to store it."""

    event_id: str
    event_type: str
    created_at: str | None


@dataclass(frozen=True)
class FormResponse:
    """A parsed FORM_RESPONSE: identity, the submission it carries, and its fields."""

    event: Event
    form_id: str
    submission_id: str
    respondent_id: str
    form_name: str
    submitted_at: datetime | None
    fields: list[dict[str, Any]]
    payload: dict[str, Any]


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_strings(data: Any) -> None:
    """Refuse strings no database can store as text (NUL, lone surrogates) and nesting
    deeper than MAX_DEPTH.

    PostgreSQL's text and jsonb reject `\\u0000`, and a lone surrogate (`\\ud800`) cannot be
    encoded to UTF-8; both would otherwise fail inside the insert, as a 500. Deep nesting
    would later exhaust the stack of whatever walks the answers recursively (display, the
    encoders, JSON encoding of the launch). Iterative, so checking cannot exhaust it here.
    """
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadEnvelope(f"The body is nested deeper than {MAX_DEPTH} levels.")
        if isinstance(item, str):
            strings = (item,)
        elif isinstance(item, dict):
            strings = tuple(item.keys())
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
            continue
        else:
            continue
        for text in strings:
            if len(text) > MAX_STRING:
                raise BadEnvelope(
                    f"A string in the body is {len(text):,} characters long; "
                    f"at most {MAX_STRING:,} are taken."
                )
            if "\x00" in text:
                raise BadEnvelope("The body contains a NUL character (\\u0000) in a string.")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise BadEnvelope("The body contains an unpaired UTF-16 surrogate.") from None


def load_json(body: bytes) -> Any:
    """Decode the raw body as strict UTF-8 JSON (no NaN/Infinity, no NUL, no surrogates)."""
    if not body.strip():
        raise BadEnvelope("The body is empty; expected a JSON object.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEnvelope(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        data = json.loads(text, parse_float=_finite_float, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadEnvelope(
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except (ValueError, RecursionError) as exc:
        # Huge integers, NaN/Infinity, nesting deeper than the parser allows.
        raise BadEnvelope(f"The body is not valid JSON: {str(exc)[:120]}.") from None
    _check_strings(data)
    return data


def _string(obj: dict[str, Any], key: str, where: str, *, max_len: int | None = None) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        got = "missing" if key not in obj else f"a {type(value).__name__}"
        raise BadEnvelope(f"{where}{key} must be a non-empty string (got {got}).")
    if max_len is not None and len(value) > max_len:
        raise BadEnvelope(f"{where}{key} is longer than {max_len} characters.")
    return value


def _optional_string(
    obj: dict[str, Any], key: str, where: str, *, max_len: int | None = None
) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadEnvelope(f"{where}{key} must be a string (got a {type(value).__name__}).")
    if max_len is not None and len(value) > max_len:
        raise BadEnvelope(f"{where}{key} is longer than {max_len} characters.")
    return value


def parse_event(data: Any) -> Event:
    """The envelope's `eventId`, `eventType` and `createdAt`; anything else is not checked."""
    if not isinstance(data, dict):
        raise BadEnvelope(f"The body must be a JSON object (got a {type(data).__name__}).")
    return Event(
        event_id=_string(data, "eventId", "", max_len=MAX_EVENT_ID),
        event_type=_string(data, "eventType", "", max_len=100),
        created_at=_optional_string(data, "createdAt", "", max_len=100) or None,
    )


def _datetime(value: str, where: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise BadEnvelope(f"{where} is not an ISO 8601 date-time: {value[:40]!r}.")
    if parsed.tzinfo is None:
        raise BadEnvelope(f"{where} has no time zone: {value[:40]!r}.")
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise BadEnvelope(f"{where} has a UTC offset beyond ±14:00: {value[:40]!r}.")
    try:
        # Stored in UTC: the database never sees an odd offset.
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise BadEnvelope(f"{where} is out of range: {value[:40]!r}.") from None


def _fields(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        got = "missing" if value is None else f"a {type(value).__name__}"
        raise BadEnvelope(f"data.fields must be a list (got {got}).")
    if len(value) > MAX_FIELDS:
        raise BadEnvelope(f"data.fields has {len(value)} fields; at most {MAX_FIELDS} are taken.")
    for i, item in enumerate(value):
        where = f"data.fields[{i}]."
        if not isinstance(item, dict):
            raise BadEnvelope(f"data.fields[{i}] must be an object (got a {type(item).__name__}).")
        _string(item, "key", where, max_len=300)
        _optional_string(item, "type", where, max_len=100)
        _optional_string(item, "label", where)
        for key in ("options", "rows", "columns"):
            if item.get(key) is not None and not isinstance(item[key], list):
                raise BadEnvelope(f"{where}{key} must be a list when present.")
    return value


def _tally_id(obj: dict[str, Any], key: str) -> str:
    # Shown in dashboard URLs and sent back to Tally's API as a path segment.
    value = _string(obj, key, "data.", max_len=MAX_SUBMISSION_ID)
    if not is_tally_id(value):
        raise BadEnvelope(f"data.{key} is not a Tally id ({TALLY_ID_RULE}): {value[:40]!r}.")
    return value


def parse_form_response(data: Any) -> FormResponse:
    """A FORM_RESPONSE envelope, strictly: every member we store must have the right type.

    `{eventId, eventType, createdAt, data:{responseId, submissionId, respondentId, formId,
    formName, createdAt, fields:[{key, label, type, value, ...}]}}`. `submissionId` is used,
    `responseId` when it is missing (they are equal in every example seen).
    """
    event = parse_event(data)
    if event.event_type != FORM_RESPONSE:
        raise BadEnvelope(f"eventType must be {FORM_RESPONSE}, got {event.event_type[:40]!r}.")
    inner = data.get("data")
    if not isinstance(inner, dict):
        got = "missing" if inner is None else f"a {type(inner).__name__}"
        raise BadEnvelope(f"data must be an object (got {got}).")
    id_key = "submissionId" if inner.get("submissionId") is not None else "responseId"
    return FormResponse(
        event=event,
        form_id=_string(inner, "formId", "data.", max_len=MAX_FORM_ID),
        submission_id=_tally_id(inner, id_key),
        respondent_id=_optional_string(inner, "respondentId", "data.", max_len=MAX_RESPONDENT_ID),
        form_name=_optional_string(inner, "formName", "data."),
        submitted_at=_datetime(
            _optional_string(inner, "createdAt", "data.", max_len=100), "data.createdAt"
        ),
        fields=_fields(inner.get("fields")),
        payload=data,
    )
