"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it),
deploy, run this command, then drop the old keys.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from integrations.crypto import EncryptedTextField, rotate


def encrypted_fields():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, [f.column for f in fields]


class Command(BaseCommand):
    help = "Re-encrypt all stored secrets with the newest FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        q = connection.ops.quote_name
        total = 0
        for model, columns in encrypted_fields():
            table, pk = q(model._meta.db_table), q(model._meta.pk.column)
            # Raw SQL on purpose: the ciphertext is rotated without ever being decrypted
            # into model instances.
            select = f"SELECT {pk}, {', '.join(map(q, columns))} FROM {table}"  # noqa: S608
            update = (
                f"UPDATE {table} SET {', '.join(f'{q(c)} = %s' for c in columns)} "  # noqa: S608
                f"WHERE {pk} = %s"
            )
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select)
                rows = cursor.fetchall()
                for row_pk, *ciphertexts in rows:
                    cursor.execute(update, [rotate(c) if c else c for c in ciphertexts] + [row_pk])
            total += len(rows)
            self.stdout.write(f"{model._meta.label}: {len(rows)} rows ({', '.join(columns)})")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the secrets of {total} rows."))
