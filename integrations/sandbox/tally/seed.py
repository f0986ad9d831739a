"""Seed the sandbox Tally: two users, five forms, deterministic past submissions.

`seed()` is idempotent: users and forms are updated in place, submissions are only added
to a form that has none. Call it from tests; `manage.py sandbox_tally_seed` wraps it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import catalog, shapes
from .catalog import CHOICE_TYPES, PAYMENT_PARTS
from .models import (
    AccessToken,
    Fault,
    Form,
    OAuthCode,
    RateWindow,
    Submission,
    Switch,
    TallyUser,
    Webhook,
)

_FIRST = ["Alice", "Bram", "Chloé", "Diego", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas"]
_LAST = ["Smith", "Peeters", "Martin", "Garcia", "Janssens", "Khan", "Novak", "Dubois"]
_COMPANIES = ["Acme NV", "Globex", "Initech", "Umbrella BV", "Hooli", "Vandelay Industries"]
_WORDS = [
    "please",
    "call",
    "me",
    "back",
    "we",
    "need",
    "this",
    "before",
    "the",
    "end",
    "of",
    "the",
    "month",
    "thanks",
]


@dataclass
class Seeded:
    users: list[TallyUser] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)

    @property
    def demo(self) -> TallyUser:
        """The demo user (owns four forms)."""
        return self.users[0]

    @property
    def other(self) -> TallyUser:
        """The other user (owns one form)."""
        return self.users[1]

    def form(self, form_id: str) -> Form:
        """The seeded form with this id."""
        return next(f for f in self.forms if f.id == form_id)


def _person(rng: random.Random) -> tuple[str, str]:
    """A random respondent's name and email."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    email = f"{first.lower().replace('é', 'e')}.{last.lower()}@example.com"
    return f"{first} {last}", email


def fake_answer(q: dict, rng: random.Random) -> Any:
    """A plausible answer in the stored (webhook) shape for question `q`."""
    qtype, title = q["type"], q["title"].lower()
    name, email = _person(rng)
    if qtype == "HIDDEN_FIELDS":
        return {
            v["uuid"]: rng.choice(["newsletter", "ads", "partner", None]) for v in q["variables"]
        }
    if qtype == "CALCULATED_FIELDS":
        return {
            v["uuid"]: rng.randint(0, 40)
            if v.get("kind", "NUMBER") == "NUMBER"
            else rng.choice(["Easy", "Hard"])
            for v in q["variables"]
        }
    if qtype == "INPUT_TEXT":
        if "company" in title:
            return rng.choice(_COMPANIES)
        if "name" in title:
            return name
        return rng.choice(["Hello", "Blue", "Sandbox answer", "Green"])
    if qtype == "INPUT_EMAIL":
        return email
    if qtype == "INPUT_PHONE_NUMBER":
        return f"+32{rng.randint(470000000, 499999999)}"
    if qtype == "INPUT_LINK":
        return rng.choice(["example.com", "https://tally.so", "www.acme.test"])
    if qtype == "INPUT_NUMBER":
        return rng.randint(0, 100)
    if qtype == "INPUT_DATE":
        day = timezone.now().date() + timedelta(days=rng.randint(1, 60))
        return day.isoformat()
    if qtype == "INPUT_TIME":
        return f"{rng.randint(8, 18):02d}:{rng.choice(['00', '15', '30', '45'])}"
    if qtype == "TEXTAREA":
        return " ".join(rng.sample(_WORDS, 6)).capitalize() + "."
    if qtype in ("MULTIPLE_CHOICE", "DROPDOWN"):
        return [rng.choice(q["options"])["id"]]
    if qtype in ("CHECKBOXES", "MULTI_SELECT"):
        picked = [o["id"] for o in q["options"] if rng.random() < 0.5]
        return picked or [q["options"][0]["id"]]
    if qtype == "RANKING":
        ids = [o["id"] for o in q["options"]]
        rng.shuffle(ids)
        return ids
    if qtype == "RATING":
        return rng.randint(1, 5)
    if qtype == "LINEAR_SCALE":
        return rng.randint(0, 10)
    if qtype in ("FILE_UPLOAD", "SIGNATURE"):
        file_id = shapes.short_id(str(rng.random()))
        fname = "signature.png" if qtype == "SIGNATURE" else rng.choice(["brief.pdf", "logo.png"])
        mime = "application/pdf" if fname.endswith(".pdf") else "image/png"
        return [
            {
                "id": file_id,
                "name": fname,
                "url": f"https://storage.tally.so/private/{file_id}/{fname}?accessToken=sandbox",
                "mimeType": mime,
                "size": rng.randint(2000, 90000),
            }
        ]
    if qtype == "PAYMENT":
        values = [q.get("amount", 9), q.get("currency", "USD"), name, email]
        values.append(
            f"https://dashboard.stripe.com/payments/pi_{shapes.short_id(name, 'p', length=14)}"
        )
        return dict(zip(PAYMENT_PARTS, values, strict=True))
    if qtype == "MATRIX":
        return {r["id"]: [rng.choice(q["columns"])["id"]] for r in q["rows"]}
    return None


def fake_answers(form: Form, rng: random.Random, *, completed: bool = True) -> dict:
    """Answers to every question of `form` (a partial submission stops early)."""
    answers = {}
    questions = form.questions
    stop = len(questions) if completed else rng.randint(1, max(1, len(questions) - 1))
    for i, q in enumerate(questions):
        if i >= stop:
            break
        if not q.get("required") and q["type"] not in CHOICE_TYPES and rng.random() < 0.15:
            continue  # optional question left blank
        answers[q["id"]] = fake_answer(q, rng)
    return answers


def fake_submission(form: Form, rng: random.Random, *, submitted_at, public_id: str) -> Submission:
    """One unsaved submission with plausible answers and analytics dimensions."""
    completed = rng.random() > 0.2
    return Submission(
        public_id=public_id,
        form=form,
        respondent_id=shapes.short_id(public_id, "respondent"),
        is_completed=completed,
        submitted_at=submitted_at,
        answers=fake_answers(form, rng, completed=completed),
        source=rng.choice(catalog.SOURCES),
        device=rng.choices(catalog.DEVICES, weights=[6, 3, 1])[0],
        country=rng.choice(catalog.COUNTRIES),
        duration_seconds=rng.randint(25, 400),
    )


def submissions_bulk_create(form: Form, count: int, *, days: int = 60, seed: str = "") -> int:
    """Add `count` deterministic submissions spread over the last `days` days, oldest first
    (so integer ids follow submission order). Used by the seed and by benchmarks."""
    rng = random.Random(f"{form.id}:{seed}:{count}")
    now = timezone.now()
    offsets = sorted((rng.uniform(0, days * 86400) for _ in range(count)), reverse=True)
    batch = []
    for i, offset in enumerate(offsets):
        public_id = shapes.short_id(form.id, seed, str(count), str(i))
        batch.append(
            fake_submission(
                form, rng, submitted_at=now - timedelta(seconds=offset), public_id=public_id
            )
        )
    Submission.objects.bulk_create(batch, batch_size=500)
    return len(batch)


@transaction.atomic
def seed() -> Seeded:
    """Create or refresh the users and forms; add submissions to forms that have none."""
    out = Seeded()
    now = timezone.now()
    for spec in catalog.USERS:
        user, _ = TallyUser.objects.update_or_create(
            id=spec["id"], defaults={k: v for k, v in spec.items() if k != "id"}
        )
        out.users.append(user)
    for spec in catalog.FORMS:
        form, created = Form.objects.get_or_create(
            id=spec["id"],
            defaults={
                "owner_id": spec["owner"],
                "name": spec["name"],
                "questions": spec["questions"],
                "has_conditional_logic": spec["has_conditional_logic"],
                "created_at": now - timedelta(days=75),
                "updated_at": now,
            },
        )
        if not created:
            form.owner_id, form.name = spec["owner"], spec["name"]
            form.questions = spec["questions"]
            form.has_conditional_logic = spec["has_conditional_logic"]
            form.status, form.is_closed = "PUBLISHED", False
            form.save()
        if not form.submissions.exists():
            submissions_bulk_create(form, spec["submissions"], seed="seed")
        out.forms.append(form)
    return out


@transaction.atomic
def reset() -> Seeded:
    """Forget everything (webhooks, log, tokens, faults, switches, submissions), seed again."""
    models = (Webhook, Submission, AccessToken, OAuthCode, Fault, Switch, RateWindow, Form)
    for model in (*models, TallyUser):
        model.objects.all().delete()
    return seed()
