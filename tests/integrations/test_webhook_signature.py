"""Tally-Signature: base64(HMAC-SHA256(secret as UTF-8, raw body)), checked over raw bytes."""

import base64
import hashlib
import hmac
import json

from integrations.tally.webhook import signature, signature_matches
from tests.fixtures import TALLY_ALL_TYPES

SECRET = "whsec-ünïcode-s3cret"
FIXTURE = TALLY_ALL_TYPES


def tally_sign(secret: str, body: bytes) -> str:
    """Written from docs/vendor-notes.md, independently of the code under test."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_it_computes_the_signature_tally_documents():
    body = b'{"eventId":"e1","eventType":"FORM_RESPONSE"}'
    assert signature(SECRET, body) == tally_sign(SECRET, body)


def test_it_accepts_the_signature_of_the_exact_bytes_received():
    body = FIXTURE.read_bytes()
    assert signature_matches(SECRET, body, tally_sign(SECRET, body))
    # The same JSON with one byte of whitespace less is another body.
    assert not signature_matches(SECRET, body.replace(b"  ", b" ", 1), tally_sign(SECRET, body))


def test_it_tolerates_surrounding_whitespace_in_the_header():
    body = b"{}"
    assert signature_matches(SECRET, body, f"  {tally_sign(SECRET, body)}\t")


def test_it_rejects_a_signature_over_re_serialized_json():
    body = b'{"eventId": "e1",  "eventType": "FORM_RESPONSE"}'
    reserialized = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert not signature_matches(SECRET, body, tally_sign(SECRET, reserialized))


def test_it_rejects_a_signature_made_with_another_secret():
    body = b"{}"
    assert not signature_matches(SECRET, body, tally_sign("other-secret", body))


def test_it_rejects_a_missing_or_empty_signature():
    assert not signature_matches(SECRET, b"{}", None)
    assert not signature_matches(SECRET, b"{}", "")


def test_it_rejects_a_hex_or_prefixed_signature():
    body = b"{}"
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256)
    assert not signature_matches(SECRET, body, digest.hexdigest())
    assert not signature_matches(SECRET, body, "sha256=" + tally_sign(SECRET, body))


def test_it_rejects_everything_when_the_endpoint_has_no_secret():
    assert not signature_matches("", b"{}", tally_sign("", b"{}"))


def test_a_non_ascii_header_is_a_mismatch_not_a_crash():
    assert not signature_matches(SECRET, b"{}", "sïgnature✓")
