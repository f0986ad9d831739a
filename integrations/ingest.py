"""Ingest: store one Tally FORM_RESPONSE and its Delivery rows in one transaction.

Shared by the webhook view (`integrations.views`) and reconcile (`integrations.reconcile`).
It never calls Tallyfy and never waits on the broker: the new rows are the outbox that
`integrations.outbox` publishes. The endpoint cache lets the view verify a webhook
without a query and a decryption each time.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import connection, transaction
from django.utils import timezone

from .models import Delivery, Endpoint, Mapping, Submission
from .tally import webhook
from .tally.answers import answers_from_webhook
from .tally.display import display

log = logging.getLogger(__name__)

SEARCH_TEXT_MAX = 20_000
ENDPOINT_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class Ingested:
    """What ingesting one FORM_RESPONSE did."""

    submission_id: int | None
    created: bool
    delivery_ids: list[int] = field(default_factory=list)


class EndpointLike(Protocol):
    pk: int
    tally_connection_id: int | None
    form_id: str


def _search_text(fields: list[dict[str, Any]]) -> str:
    """Answer texts, flattened for the deliveries search box (option ids resolved)."""
    try:
        answers = answers_from_webhook({"fields": fields})
        parts = [text for a in answers if (text := display(a).text)]
    except Exception:  # a display bug must never cost a submission
        log.exception("could not flatten answers for search")
        return ""
    return " · ".join(parts)[:SEARCH_TEXT_MAX]


class _Insert:
    """The SQL of an ingest, written once from the models' own fields.

    The receiver is the product's hottest path, and the ORM costs more CPU per query
    than PostgreSQL does here (docs/benchmarks.md), so an ingest is plain SQL:
    the submission with `ON CONFLICT DO NOTHING RETURNING id` (a duplicate returns no
    row: the unique constraints decide, not a prior SELECT), then
    `INSERT … SELECT … RETURNING id` from the enabled mappings of the form (the fan-out
    reads the mappings in the same transaction, so a mapping enabled a moment ago is
    never missed). On PostgreSQL both run as one statement (data-modifying CTEs); on
    SQLite as two in one transaction. Columns and defaults come from the models, so a
    new Delivery field with a default needs no change here.
    """

    SUBMISSION_FIELDS = (
        "endpoint",
        "tally_connection",
        "event_id",
        "form_id",
        "submission_id",
        "respondent_id",
        "form_name",
        "raw_body",
        "headers",
        "search_text",
        "source",
        "submitted_at",
        "received_at",
    )
    # Given per delivery; every other concrete Delivery field takes its model default.
    DELIVERY_GIVEN = ("submission", "mapping", "mapping_version", "created_at", "updated_at")

    def __init__(self) -> None:
        # Only quoted table and column names from the models are interpolated below
        # (hence the S608 waivers); every value is a query parameter.
        qn = connection.ops.quote_name
        sub, dlv, mp = Submission._meta, Delivery._meta, Mapping._meta
        self.submission_fields = [sub.get_field(name) for name in self.SUBMISSION_FIELDS]
        self.submission_sql = (
            f"INSERT INTO {qn(sub.db_table)} "  # noqa: S608
            f"({', '.join(qn(f.column) for f in self.submission_fields)}) "
            f"VALUES ({', '.join(['%s'] * len(self.submission_fields))}) "
            f"ON CONFLICT DO NOTHING RETURNING {qn(sub.pk.column)}"
        )
        defaults = [
            f
            for f in dlv.concrete_fields
            if not f.primary_key and f.name not in self.DELIVERY_GIVEN
        ]
        self.delivery_defaults = [f.get_db_prep_save(f.get_default(), connection) for f in defaults]
        self.created_at = dlv.get_field("created_at")
        columns = [dlv.get_field(n).column for n in self.DELIVERY_GIVEN] + [
            f.column for f in defaults
        ]
        mapping = {n: f"m.{qn(mp.get_field(n).column)}" for n in ("tally_connection", "form_id")}
        mapping.update(
            pk=f"m.{qn(mp.pk.column)}",
            version=f"m.{qn(mp.get_field('current_version').column)}",
            status=f"m.{qn(mp.get_field('status').column)}",
        )

        def delivery_sql(submission_id: str, source: str) -> str:
            return (
                f"INSERT INTO {qn(dlv.db_table)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608
                f"SELECT {submission_id}, {mapping['pk']}, {mapping['version']}, %s, %s"
                f"{', %s' * len(defaults)} FROM {source} "
                f"WHERE {mapping['tally_connection']} = %s AND {mapping['form_id']} = %s "
                f"AND {mapping['status']} = %s AND {mapping['version']} IS NOT NULL "
                f"RETURNING {qn(dlv.pk.column)}"
            )

        self.delivery_sql = delivery_sql("%s", f"{qn(mp.db_table)} m")
        self.combined_sql = (
            f"WITH s AS ({self.submission_sql}), "  # noqa: S608
            f"d AS ({delivery_sql('s.' + qn(sub.pk.column), f's, {qn(mp.db_table)} m')}) "
            f"SELECT (SELECT {qn(sub.pk.column)} FROM s), "
            f"ARRAY(SELECT {qn(dlv.pk.column)} FROM d)"
        )

    def run(self, values: dict[str, Any]) -> tuple[int | None, list[int]]:
        """Insert the submission `values` (by attname) and one delivery per enabled
        mapping of its form; returns (submission id, or None for a duplicate; delivery
        ids). Deliveries are stamped with the submission's `received_at`."""
        submission = [
            f.get_db_prep_save(values[f.attname], connection) for f in self.submission_fields
        ]
        stamp = self.created_at.get_db_prep_save(values["received_at"], connection)
        fan_out = [
            stamp,
            stamp,
            *self.delivery_defaults,
            values["tally_connection_id"],
            values["form_id"],
            Mapping.Status.ENABLED.value,
        ]
        if connection.vendor == "postgresql":
            # One statement (atomic by itself), bound and prepared server-side: Django's
            # psycopg cursors bind client-side, quoting the raw body in Python and
            # re-planning the statement on every webhook.
            connection.ensure_connection()
            with connection.wrap_database_errors, connection.connection.cursor() as cursor:
                cursor.execute(self.combined_sql, [*submission, *fan_out], prepare=True)
                submission_id, ids = cursor.fetchone()
            return submission_id, sorted(ids or [])
        with connection.cursor() as cursor, transaction.atomic():
            cursor.execute(self.submission_sql, submission)
            row = cursor.fetchone()
            if row is None:
                return None, []
            cursor.execute(self.delivery_sql, [row[0], *fan_out])
            return row[0], sorted(r[0] for r in cursor.fetchall())


@functools.cache
def _insert() -> _Insert:
    """Built on first use: the SQL needs the database connection's quoting."""
    return _Insert()


def submission_ingest(
    *,
    endpoint: EndpointLike,
    response: webhook.FormResponse,
    raw_body: bytes,
    headers: dict[str, str] | None = None,
    source: str = Submission.Source.WEBHOOK,
) -> Ingested:
    """Store one FORM_RESPONSE and its deliveries in one transaction.

    A duplicate (same eventId, or same form + submission from another webhook or a
    redelivery) stores nothing and creates no delivery. Safe under concurrency: the
    unique constraints decide, not a prior SELECT. New deliveries are `pending` with no
    send time: the outbox the dispatcher drains (`integrations.outbox`).
    """
    submission_id, ids = _insert().run(
        {
            "endpoint_id": endpoint.pk,
            "tally_connection_id": endpoint.tally_connection_id,
            "event_id": response.event.event_id,
            "form_id": response.form_id,
            "submission_id": response.submission_id,
            "respondent_id": response.respondent_id,
            "form_name": response.form_name[:250],
            "raw_body": raw_body,
            "headers": headers or {},
            "search_text": _search_text(response.fields),
            "source": source,
            "submitted_at": response.submitted_at,
            "received_at": timezone.now(),
        }
    )
    if submission_id is None:
        log.info(
            "duplicate submission %s of form %s (event %s): nothing stored",
            response.submission_id,
            response.form_id,
            response.event.event_id,
            extra={"event_id": response.event.event_id},
        )
        return Ingested(submission_id=None, created=False)
    log.info(
        "stored submission %s (%s) of form %s with %d deliveries",
        submission_id,
        source,
        response.form_id,
        len(ids),
        extra={"submission_id": submission_id, "delivery_ids": ids},
    )
    return Ingested(submission_id=submission_id, created=True, delivery_ids=ids)


@dataclass(frozen=True)
class EndpointRef:
    """What the receiver needs of an Endpoint (the secret decrypted once, not per request)."""

    pk: int
    signing_secret: str
    tally_connection_id: int | None
    form_id: str


class EndpointCache:
    """Endpoints by key, kept per process for a few seconds.

    Every webhook would otherwise pay an ORM query and a Fernet decryption before it is
    verified. Staleness is safe both ways: a signature that fails against a cached
    secret is checked once more against the database before the 401, and the fan-out
    never trusts the cache (it reads the enabled mappings in the insert itself). A webhook
    for an endpoint deleted meanwhile fails its insert on the foreign key, and the view
    then answers as for any unknown key. Unknown keys are never cached.
    """

    def __init__(self, ttl: float = 10.0):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, EndpointRef]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, *, fresh: bool = False) -> EndpointRef | None:
        # Keys are token_urlsafe; anything else (a NUL, which PostgreSQL refuses in a
        # query) is unknown without asking the database.
        if not ENDPOINT_KEY.fullmatch(key):
            return None
        now = time.monotonic()
        if not fresh:
            hit = self._entries.get(key)
            if hit and hit[0] > now:
                return hit[1]
        row = (
            Endpoint.objects.filter(key=key)
            .only("pk", "signing_secret", "tally_connection_id", "form_id")
            .first()
        )
        with self._lock:
            if row is None:
                self._entries.pop(key, None)
                return None
            ref = EndpointRef(
                pk=row.pk,
                signing_secret=row.signing_secret,
                tally_connection_id=row.tally_connection_id,
                form_id=row.form_id,
            )
            self._entries[key] = (now + self.ttl, ref)
            return ref

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


endpoint_cache = EndpointCache()
