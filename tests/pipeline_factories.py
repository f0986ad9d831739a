"""Rows and payloads for the webhook → delivery pipeline tests.

Mappings are built directly as rows (Mapping, MappingVersion, FieldMapping, Endpoint):
the Support intake form of the sandbox Tally → the Support ticket triage template of the
sandbox Tallyfy, with the ids both sandboxes seed, so the same rows work against respx
fakes and against the live sandboxes.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from integrations.models import (
    Connection,
    Endpoint,
    FieldMapping,
    Mapping,
    MappingVersion,
    Provider,
)
from integrations.tally.webhook import signature
from tests.factories import ConnectionFactory, TallyfyConnectionFactory

# --- the sandbox's ids (integrations/sandbox/*/seed.py, catalog.py) ------------------------

TALLY_API_KEY = "tly-sandbox-demo-key"  # the seeded Tally user Dana Demo (mOQbWz)
TALLY_USER_ID = "mOQbWz"
SUPPORT_FORM_ID = "3jqXkP"
ALL_TYPES_FORM_ID = "VwbNEw"
TALLYFY_TOKEN = "tallyfy-sandbox-demo-token"  # personal token, org Acme Operations


def _stable_id(*parts: str) -> str:
    import hashlib

    return hashlib.sha256(":".join(("sandbox-tallyfy", *parts)).encode()).hexdigest()[:32]


ACME_ID = _stable_id("org", "acme-operations")
SUPPORT_TRIAGE_ID = _stable_id("checklist", "support-ticket-triage")
CLIENT_ONBOARDING_ID = _stable_id("checklist", "client-onboarding")


def triage_field_id(alias: str) -> str:
    return _stable_id("field", "support-ticket-triage", alias)


PRIORITY_OPTIONS = [
    {"id": 701, "text": "Low"},
    {"id": 708, "text": "Normal"},
    {"id": 715, "text": "Urgent"},
]

#: The Support ticket triage template's kick-off fields, as GET /checklists/{id} gives them.
TRIAGE_FIELDS: list[dict[str, Any]] = [
    {
        "id": triage_field_id("subject"),
        "alias": "subject",
        "label": "Subject",
        "field_type": "text",
        "required": False,
        "position": 1,
        "options": [],
        "columns": [],
    },
    {
        "id": triage_field_id("description"),
        "alias": "description",
        "label": "Description",
        "field_type": "textarea",
        "required": False,
        "position": 2,
        "options": [],
        "columns": [],
    },
    {
        "id": triage_field_id("priority"),
        "alias": "priority",
        "label": "Priority",
        "field_type": "radio",
        "required": False,
        "position": 3,
        "options": PRIORITY_OPTIONS,
        "columns": [],
    },
    {
        "id": triage_field_id("requester_email"),
        "alias": "requester_email",
        "label": "Requester email",
        "field_type": "email",
        "required": True,
        "position": 4,
        "options": [],
        "columns": [],
    },
]

#: The Support intake form's questions (sandbox catalog), as GET /forms/{id}/questions.
SUPPORT_QUESTIONS: list[dict[str, Any]] = [
    {"id": "Ky5vXe", "type": "INPUT_EMAIL", "title": "Your email"},
    {
        "id": "Lz6wYf",
        "type": "MULTIPLE_CHOICE",
        "title": "Category",
        "options": [
            {"id": "7cd1a0c1-8d9e-4f56-8b7c-8d9eafb0c1d8", "text": "Billing"},
            {"id": "8de2b1d2-9eaf-4a67-9c8d-9eafb0c1d2e9", "text": "Bug"},
            {"id": "9ef3c2e3-afb0-4b78-8d9e-afb0c1d2e3fa", "text": "Question"},
        ],
    },
    {"id": "Ma7xZg", "type": "RATING", "title": "Urgency"},
    {"id": "Nb8yAh", "type": "TEXTAREA", "title": "Describe the problem"},
]
CATEGORY_BUG = "8de2b1d2-9eaf-4a67-9c8d-9eafb0c1d2e9"


def tally_connection(**kw) -> Connection:
    """The sandbox Tally user, by API key."""
    defaults = dict(
        provider=Provider.TALLY,
        external_id=TALLY_USER_ID,
        label="dana.demo@example.com",
        auth_kind=Connection.AuthKind.API_KEY,
        access_token=TALLY_API_KEY,
        refresh_token="",
        expires_at=None,
    )
    return ConnectionFactory(**{**defaults, **kw})


def tallyfy_connection(**kw) -> Connection:
    """The sandbox Tallyfy organization Acme Operations, by personal token."""
    defaults = dict(
        external_id=ACME_ID,
        label="Acme Operations",
        auth_kind=Connection.AuthKind.API_KEY,
        access_token=TALLYFY_TOKEN,
        refresh_token="",
        expires_at=None,
    )
    return TallyfyConnectionFactory(**{**defaults, **kw})


def support_mapping(
    *,
    tally: Connection,
    tallyfy: Connection,
    name: str = "Support intake → triage",
    status: str = Mapping.Status.ENABLED,
    name_template: str = "Ticket from {Your email}",
    description_source: str = "question_Nb8yAh",
    form_id: str = SUPPORT_FORM_ID,
) -> Mapping:
    """Support intake → Support ticket triage: email → requester (required), problem →
    description, a constant subject, category → nothing."""
    mapping = Mapping.objects.create(
        name=name,
        tally_connection=tally,
        form_id=form_id,
        form_name="Support intake",
        tallyfy_connection=tallyfy,
        template_id=SUPPORT_TRIAGE_ID,
        template_name="Support ticket triage",
        status=status,
    )
    version = MappingVersion.objects.create(
        mapping=mapping,
        number=1,
        name_template=name_template,
        template_fields=TRIAGE_FIELDS,
        form_questions=SUPPORT_QUESTIONS,
    )
    by_alias = {f["alias"]: f for f in TRIAGE_FIELDS}

    def rule(alias: str, **kw) -> FieldMapping:
        f = by_alias[alias]
        return FieldMapping(
            version=version,
            target_field_id=f["id"],
            target_label=f["label"],
            target_type=f["field_type"],
            target_required=f["required"],
            **kw,
        )

    FieldMapping.objects.bulk_create(
        [
            rule("requester_email", source="field", source_key="question_Ky5vXe"),
            rule("description", source="field", source_key=description_source),
            rule("subject", source="constant", constant="Web support request"),
        ]
    )
    mapping.current_version = version
    mapping.save(update_fields=["current_version"])
    return mapping


def endpoint_for(mapping: Mapping, *, secret: str | None = None, webhook_id: str = "") -> Endpoint:
    endpoint, _ = Endpoint.objects.get_or_create(
        tally_connection=mapping.tally_connection,
        form_id=mapping.form_id,
        defaults={
            "key": secrets.token_urlsafe(32),
            "signing_secret": secret or "whsec-" + secrets.token_urlsafe(24),
            "tally_webhook_id": webhook_id,
        },
    )
    return endpoint


# --- payloads -------------------------------------------------------------------------------


def support_fields(email: str = "ria@example.com", problem: str = "The export is broken") -> list:
    return [
        {"key": "question_Ky5vXe", "label": "Your email", "type": "INPUT_EMAIL", "value": email},
        {
            "key": "question_Lz6wYf",
            "label": "Category",
            "type": "MULTIPLE_CHOICE",
            "value": [CATEGORY_BUG],
            "options": SUPPORT_QUESTIONS[1]["options"],
        },
        {"key": "question_Ma7xZg", "label": "Urgency", "type": "RATING", "value": 4},
        {
            "key": "question_Nb8yAh",
            "label": "Describe the problem",
            "type": "TEXTAREA",
            "value": problem,
        },
    ]


def envelope(
    *,
    form_id: str = SUPPORT_FORM_ID,
    submission_id: str | None = None,
    event_id: str | None = None,
    fields: list | None = None,
    event_type: str = "FORM_RESPONSE",
) -> dict[str, Any]:
    submission_id = submission_id or uuid.uuid4().hex[:6]
    return {
        "eventId": event_id or str(uuid.uuid4()),
        "eventType": event_type,
        "createdAt": "2025-03-04T10:15:00.000Z",
        "data": {
            "responseId": submission_id,
            "submissionId": submission_id,
            "respondentId": "resp01",
            "formId": form_id,
            "formName": "Support intake",
            "createdAt": "2025-03-04T10:14:58.000Z",
            "fields": support_fields() if fields is None else fields,
        },
    }


def body_of(data: Any) -> bytes:
    """Serialised like Tally (compact); tests sign these exact bytes."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    return {"Tally-Signature": signature(secret, body), "Content-Type": "application/json"}


# --- processes ------------------------------------------------------------------------------


def database_url() -> str:
    """DATABASE_URL of the test database, for a worker or dispatcher started as a process."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def celery_worker_args(*, concurrency: int, level: str) -> list[str]:
    """`python` arguments for a real prefork worker that starts fast and says little."""
    return [
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-P",
        "prefork",
        "-c",
        str(concurrency),
        "-l",
        level,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


# --- the queue, in-process ------------------------------------------------------------------


@dataclass
class FakeQueue:
    """Stands in for the broker: records `deliver` and `deliver_many` tasks (one entry per
    delivery id); `drain()` dispatches the outbox and runs them like a worker."""

    sent: list[tuple[int, float | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch) -> FakeQueue:
        from integrations import tasks

        monkeypatch.setattr(tasks.deliver, "apply_async", self.apply_async)
        monkeypatch.setattr(tasks.deliver_many, "apply_async", self.apply_async_many)
        return self

    def apply_async(self, args=(), kwargs=None, countdown=None, **options):
        with self.lock:
            self.sent.append((args[0], countdown))

    def apply_async_many(self, args=(), kwargs=None, countdown=None, **options):
        with self.lock:
            self.sent.extend((pk, countdown) for pk in args[0])

    @property
    def ids(self) -> list[int]:
        return [pk for pk, _ in self.sent]

    def take(self) -> list[tuple[int, float | None]]:
        with self.lock:
            taken, self.sent[:] = list(self.sent), []
        return taken

    def drain(self, *, rounds: int = 20, include_delayed: bool = True) -> int:
        """Dispatch the outbox, then run queued tasks (and those they enqueue) until none
        is left; returns how many ran."""
        from integrations.delivery import delivery_process_queued
        from integrations.outbox import deliveries_dispatch

        ran = 0
        for _ in range(rounds):
            deliveries_dispatch()
            batch = [pk for pk, countdown in self.take() if include_delayed or not countdown]
            if not batch:
                break
            for pk in batch:
                delivery_process_queued(pk)
                ran += 1
        return ran


def ingest(mapping: Mapping, data: dict[str, Any] | None = None):
    """Store a submission of `data` for the mapping's form as the receiver does; returns
    the deliveries created."""
    from integrations.delivery import Delivery
    from integrations.ingest import submission_ingest
    from integrations.tally.webhook import parse_form_response

    data = data or envelope(form_id=mapping.form_id)
    endpoint = endpoint_for(mapping)
    result = submission_ingest(
        endpoint=endpoint, response=parse_form_response(data), raw_body=body_of(data)
    )
    return list(Delivery.objects.filter(pk__in=result.delivery_ids).order_by("pk"))
