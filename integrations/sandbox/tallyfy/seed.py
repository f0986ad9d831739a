"""Demo data for the sandbox Tallyfy. `seed()` is idempotent and keeps every id stable, so a
Kickoff connection or mapping made against the sandbox survives a re-seed or a reset.

Look-ups for tests and docs: `ACME_ID`, `BETA_ID`, `CLIENT_ONBOARDING_ID`,
`SUPPORT_TRIAGE_ID`, `DEMO_TOKEN`, `DEMO_USER_ID`, `field_id(template_key, alias)`,
`step_id(template_key, title)` and `capture_id(template_key, alias)`.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import (
    AccessToken,
    AuthorizationCode,
    Checklist,
    Fault,
    Group,
    Organization,
    PrerunField,
    RateCounter,
    RefreshToken,
    Run,
    Step,
    Switch,
    Task,
    User,
)


def stable_id(*parts: str) -> str:
    """A 32-hex id derived from a name: the same on every machine and every seed."""
    return hashlib.sha256(":".join(("sandbox-tallyfy", *parts)).encode()).hexdigest()[:32]


DEMO_TOKEN = "tallyfy-sandbox-demo-token"
DEMO_USER_ID = 40001
ACME_ID = stable_id("org", "acme-operations")
BETA_ID = stable_id("org", "beta-studio")
CLIENT_ONBOARDING_ID = stable_id("checklist", "client-onboarding")
SUPPORT_TRIAGE_ID = stable_id("checklist", "support-ticket-triage")
DESIGN_BRIEF_ID = stable_id("checklist", "design-brief")

USERS = [
    (DEMO_USER_ID, "dana.demo@acme.example", "Dana", "Demo", [ACME_ID, BETA_ID]),
    (40002, "sam.rivera@acme.example", "Sam", "Rivera", [ACME_ID]),
    (40003, "priya.shah@acme.example", "Priya", "Shah", [ACME_ID]),
    (40004, "lee.chen@beta.example", "Lee", "Chen", [BETA_ID]),
]
GROUPS = [
    (ACME_ID, "onboarding-team", "Onboarding team", [DEMO_USER_ID, 40002]),
    (ACME_ID, "support", "Support", [40003]),
    (BETA_ID, "studio", "Studio", [DEMO_USER_ID, 40004]),
]


def field_id(template_key: str, alias: str) -> str:
    """The stable id of a seeded kick-off field."""
    return stable_id("field", template_key, alias)


def step_id(template_key: str, title: str) -> str:
    """The stable id of a seeded step."""
    return stable_id("step", template_key, title)


def capture_id(template_key: str, alias: str) -> str:
    """The stable id of a seeded task form field (capture)."""
    return field_id(template_key, f"task:{alias}")


def group_id(org_id: str, key: str) -> str:
    """The stable id of a seeded group."""
    return stable_id("group", org_id, key)


def _options(base: int, *texts: str) -> list[dict[str, Any]]:
    """Options with int ids that are not positions."""
    # Option ids are ints that are not positions, so index/id mix-ups show up.
    return [{"id": base + 7 * i, "text": t} for i, t in enumerate(texts)]


def _field(alias, label, field_type, required=False, options=None, columns=None, guidance=""):
    """A kick-off field spec."""
    return {
        "alias": alias,
        "label": label,
        "field_type": field_type,
        "required": required,
        "options": options or [],
        "columns": columns or [],
        "guidance": guidance,
    }


CLIENT_ONBOARDING_FIELDS = [
    _field("company_name", "Company name", "text", True, guidance="Legal name of the client."),
    _field("contact_email", "Contact email", "email", True),
    _field("start_date", "Start date", "date", True),
    _field(
        "plan", "Plan", "dropdown", True, options=_options(301, "Starter", "Growth", "Enterprise")
    ),
    _field("region", "Region", "radio", options=_options(401, "EU", "North America", "APAC")),
    _field(
        "services",
        "Services needed",
        "multiselect",
        options=_options(501, "Setup", "Training", "Data migration", "Integrations"),
    ),
    _field("project_notes", "Project notes", "textarea"),
    _field(
        "contacts",
        "Contacts",
        "table",
        columns=[
            {"id": 1, "label": "Name"},
            {"id": 2, "label": "Role"},
            {"id": 3, "label": "Phone"},
        ],
    ),
    _field("signed_contract", "Signed contract", "file"),
    _field("account_manager", "Account manager", "assignees_form"),
]

SEVERITY = _options(601, "Low", "Normal", "Urgent")

SUPPORT_TRIAGE_FIELDS = [
    _field("subject", "Subject", "text"),
    _field("description", "Description", "textarea"),
    _field("priority", "Priority", "radio", options=_options(701, "Low", "Normal", "Urgent")),
    _field("requester_email", "Requester email", "email", True),
]


def _capture(template_key, alias, label, field_type, required=False, options=None):
    """A task form field spec."""
    return {
        "id": capture_id(template_key, alias),
        "alias": alias,
        **_field(alias, label, field_type, required, options),
        "position": 0,
    }


def _templates() -> list[dict[str, Any]]:
    """Every template: key, org, title, kick-off fields, steps (title, task fields and,
    optionally, the step's task_type and can_complete_only_assignees)."""
    templates = [
        {
            "key": "client-onboarding",
            "org": ACME_ID,
            "title": "Client onboarding",
            "summary": "Welcome a new client: account, kickoff meeting and welcome pack.",
            "fields": CLIENT_ONBOARDING_FIELDS,
            "steps": [
                ("Welcome call", [("call_notes", "Call notes", "textarea", False, None)]),
                ("Set up account", [("account_url", "Account URL", "text", True, None)]),
                ("Kickoff meeting", []),
                ("Send welcome pack", []),
                (
                    "Site visit",
                    [("visit_report", "Visit report", "textarea", True, None)],
                    {"can_complete_only_assignees": True},
                ),
                (
                    "Client sign-off",
                    [
                        ("signoff_notes", "Sign-off notes", "textarea", True, None),
                        ("go_live_date", "Go-live date", "date", False, None),
                    ],
                    {"task_type": "approval"},
                ),
            ],
        },
        {
            "key": "support-ticket-triage",
            "org": ACME_ID,
            "title": "Support ticket triage",
            "summary": "Sort an incoming ticket and get it to the right person.",
            "fields": SUPPORT_TRIAGE_FIELDS,
            "steps": [
                ("Triage", [("severity", "Severity", "dropdown", True, SEVERITY)]),
                ("Resolve", [("resolution", "Resolution", "textarea", False, None)]),
            ],
        },
        {
            "key": "design-brief",
            "org": BETA_ID,
            "title": "Design brief",
            "summary": "A new design request for the studio.",
            "fields": [
                _field("project", "Project", "text", True),
                _field("budget", "Budget", "dropdown", options=_options(801, "Small", "Large")),
            ],
            "steps": [
                ("Review brief", [("estimate", "Estimate (days)", "text", True, None)]),
                ("Design", []),
                ("Deliver", []),
            ],
        },
    ]
    fillers = [
        "Access request",
        "Annual review",
        "Bug report follow-up",
        "Budget approval",
        "Contract renewal",
        "Customer feedback",
        "Data deletion request",
        "Employee offboarding",
        "Employee onboarding",
        "Equipment order",
        "Expense claim",
        "Incident postmortem",
        "Invoice dispute",
        "Leave request",
        "Marketing brief",
        "Partner application",
        "Price change",
        "Purchase order",
        "Quarterly planning",
        "Refund request",
        "Security review",
        "Supplier onboarding",
        "Training signup",
        "Travel request",
        "Website change",
    ]
    for i, title in enumerate(fillers):
        key = title.lower().replace(" ", "-")
        steps = [
            ("Review", [("decision_notes", "Decision notes", "text", True, None)]),
            ("Done", []),
        ]
        if i % 3 == 0:
            steps.insert(1, ("Approve", [("comments", "Comments", "textarea", False, None)]))
        templates.append(
            {
                "key": key,
                "org": ACME_ID,
                "title": title,
                "summary": f"{title} (filler template for paging).",
                "fields": [
                    _field("requested_by", "Requested by", "text", i % 2 == 0),
                    _field("details", "Details", "textarea"),
                ],
                "steps": steps,
            }
        )
    return templates


def _upsert(model, objects: list, fields: list[str]) -> None:
    """Insert the missing rows and refresh the others, in a handful of queries."""
    existing = set(
        model.objects.filter(pk__in=[o.pk for o in objects]).values_list("pk", flat=True)
    )
    model.objects.bulk_create([o for o in objects if o.pk not in existing])
    if existing:
        model.objects.bulk_update([o for o in objects if o.pk in existing], fields)


@transaction.atomic
def seed() -> None:
    """Create or refresh the demo data; never deletes runs. Safe to call any number of times."""
    _upsert(
        Organization,
        [
            Organization(id=ACME_ID, name="Acme Operations"),
            Organization(id=BETA_ID, name="Beta Studio"),
        ],
        ["name"],
    )
    _upsert(
        User,
        [User(id=uid, email=e, first_name=fn, last_name=ln) for uid, e, fn, ln, _ in USERS],
        ["email", "first_name", "last_name"],
    )
    for uid, *_, orgs in USERS:
        User.objects.get(id=uid).organizations.set(orgs)
    _upsert(
        Group,
        [Group(id=group_id(o, key), organization_id=o, name=name) for o, key, name, _ in GROUPS],
        ["organization_id", "name"],
    )
    for org_id, key, _, members in GROUPS:
        Group.objects.get(id=group_id(org_id, key)).members.set(members)

    checklists, fields, steps = [], [], []
    for spec in _templates():
        checklist_id = stable_id("checklist", spec["key"])
        checklists.append(
            Checklist(
                id=checklist_id,
                organization_id=spec["org"],
                title=spec["title"],
                summary=spec["summary"],
            )
        )
        for position, f in enumerate(spec["fields"], start=1):
            fields.append(
                PrerunField(
                    id=field_id(spec["key"], f["alias"]),
                    checklist_id=checklist_id,
                    position=position,
                    **f,
                )
            )
        for position, (title, captures, *rules) in enumerate(spec["steps"], start=1):
            steps.append(
                Step(
                    id=step_id(spec["key"], title),
                    checklist_id=checklist_id,
                    title=title,
                    position=position,
                    captures=[
                        {**_capture(spec["key"], *c), "position": n}
                        for n, c in enumerate(captures, 1)
                    ],
                    **(rules[0] if rules else {}),
                )
            )
    _upsert(Checklist, checklists, ["organization_id", "title", "summary"])
    field_columns = ["checklist_id", "alias", "label", "field_type", "required", "position"]
    _upsert(PrerunField, fields, [*field_columns, "options", "columns", "guidance"])
    step_columns = ["checklist_id", "title", "position", "captures", "task_type"]
    _upsert(Step, steps, [*step_columns, "can_complete_only_assignees"])
    ids = [c.id for c in checklists]
    PrerunField.objects.filter(checklist_id__in=ids).exclude(id__in=[f.id for f in fields]).delete()
    Step.objects.filter(checklist_id__in=ids, tasks__isnull=True).exclude(
        id__in=[s.id for s in steps]
    ).delete()

    # The demo personal access token: tied to Acme Operations, alive for six months.
    AccessToken.objects.update_or_create(
        token=DEMO_TOKEN,
        defaults={
            "kind": AccessToken.PERSONAL,
            "user_id": DEMO_USER_ID,
            "organization_id": ACME_ID,
            "expires_at": timezone.now() + timedelta(days=182),
            "revoked": False,
        },
    )


def reset() -> None:
    """Forget every run, fault, switch, OAuth grant and counter, then re-seed (same ids)."""
    with transaction.atomic():
        Task.objects.all().delete()
        Run.objects.all().delete()
        Fault.objects.all().delete()
        Switch.objects.all().delete()
        RateCounter.objects.all().delete()
        AuthorizationCode.objects.all().delete()
        RefreshToken.objects.all().delete()
        AccessToken.objects.filter(kind=AccessToken.OAUTH).delete()
        seed()
