"""Secrets at rest: encrypted in the database, rotatable, never in a dump."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from integrations import crypto
from integrations.crypto import DecryptionFailed
from integrations.models import Connection
from tests.factories import ConnectionFactory, TallyfyConnectionFactory


def database_dump() -> str:
    """Every row of every table, as the database stores it (what a backup would hold)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def raw_column(pk, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM integrations_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_database_dump_contains_no_plaintext_secret():
    a = ConnectionFactory(access_token="tly-plaintext-api-key-0001", refresh_token="")
    b = TallyfyConnectionFactory(
        access_token="tallyfy-access-plaintext", refresh_token="tallyfy-refresh-plaintext"
    )
    dump = database_dump()
    for secret in (a.access_token, b.access_token, b.refresh_token):
        assert secret not in dump
    assert raw_column(b.pk, "access_token").startswith("gAAAAA")  # a Fernet token
    assert Connection.objects.get(pk=b.pk).refresh_token == "tallyfy-refresh-plaintext"


@pytest.mark.django_db
def test_rotation_re_encrypts_with_the_new_key_so_the_old_one_can_go(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    c = ConnectionFactory(access_token="secret-to-keep-0001")
    before = raw_column(c.pk, "access_token")

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted the secrets of 1 rows" in out.getvalue()
    after = raw_column(c.pk, "access_token")
    assert after != before

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # old key dropped
    assert Connection.objects.get(pk=c.pk).access_token == "secret-to-keep-0001"


@pytest.mark.django_db
def test_a_secret_unreadable_with_the_configured_keys_fails_with_a_clear_error(settings):
    c = ConnectionFactory()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionFailed, match="FIELD_ENCRYPTION_KEYS"):
        Connection.objects.get(pk=c.pk)


def test_mask_shows_only_the_last_four_characters():
    assert crypto.mask("tly-abcdefghijklmnop") == "…mnop"
    assert crypto.mask("short") == "…"
    assert crypto.mask("") == ""
