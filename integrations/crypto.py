"""Secrets at rest: MultiFernet over FIELD_ENCRYPTION_KEYS (the first key encrypts).

Keys rotate by putting a new key first; `manage.py rotate_encryption_keys` then
re-encrypts every stored secret with it, after which old keys can be dropped.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return fernet().decrypt(ciphertext.encode()).decode()


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (the value stays the same)."""
    return fernet().rotate(ciphertext.encode()).decode()


def mask(secret: str) -> str:
    """A hint that identifies a secret to a person without revealing it."""
    if not secret:
        return ""
    return f"…{secret[-4:]}" if len(secret) > 12 else "…"


class DecryptionFailed(Exception):
    """A stored secret cannot be read with any configured key."""


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code only ever sees the plaintext.

    Empty strings are stored as they are (nothing to hide), so "no refresh token" stays
    cheap to test for.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value)
        except InvalidToken:
            raise DecryptionFailed(
                f"{self.model.__name__}.{self.name} cannot be decrypted with "
                "FIELD_ENCRYPTION_KEYS: was a key removed before rotation?"
            ) from None

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
