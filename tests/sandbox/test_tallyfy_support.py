# (the en dash in process names is deliberate)
"""Shared helpers for the sandbox Tallyfy tests (imported by the test_tallyfy_* modules).

Lives beside them rather than in a conftest.py so this helper's files stay its own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations.sandbox.tallyfy import seed as demo

API = "/sandbox/tallyfy/api"
CONTROL = "/sandbox/tallyfy/control"
ACME = demo.ACME_ID
BETA = demo.BETA_ID
ONBOARDING = demo.CLIENT_ONBOARDING_ID
TRIAGE = demo.SUPPORT_TRIAGE_ID
TOKEN = demo.DEMO_TOKEN


def f(alias: str, template: str = "client-onboarding") -> str:
    """The launch key (32-hex id) of a seeded kick-off field."""
    return demo.field_id(template, alias)


def headers(token: str | None = TOKEN, client: bool = True) -> dict[str, str]:
    h = {"Accept": "application/json"}
    if client:
        h["X-Tallyfy-Client"] = "APIClient"
    if token:
        h["Authorization"] = f"Bearer {token}"
    return h


def good_prerun() -> dict[str, Any]:
    """A Client onboarding kick-off form with every field type filled in correctly."""
    return {
        f("company_name"): "Acme Ltd",
        f("contact_email"): "jo@acme.example",
        f("start_date"): "2025-03-01T09:30:00.000Z",
        f("plan"): {"id": 308, "text": "Growth"},
        f("region"): "North America",
        f("services"): [
            {"id": 501, "text": "Setup", "selected": True},
            {"id": 515, "text": "Data migration", "selected": True},
        ],
        f("project_notes"): "Line one\nLine two",
        f("contacts"): ["Jo Bloggs", "CEO", "+1 555 0100"],
        f("signed_contract"): [
            {"filename": "contract.pdf", "source": "url", "url": "https://files.example/c.pdf"}
        ],
        f("account_manager"): {
            "users": [40002],
            "guests": ["guest@example.com"],
            "groups": [demo.group_id(ACME, "onboarding-team")],
        },
    }


def launch_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "checklist_id": ONBOARDING,
        "name": "Onboarding – Acme Ltd",
        "summary": "kickoff delivery 17",
        "prerun": good_prerun(),
    }
    body.update(overrides)
    return body


class Api:
    """The Django test client dressed as a Tallyfy API client."""

    def __init__(self, client):
        self.client = client

    def get(self, path: str, token: str | None = TOKEN, **params):
        return self.client.get(API + path, params, headers=headers(token))

    def post(self, path: str, body: Any, token: str | None = TOKEN):
        return self.client.post(
            API + path, json.dumps(body), content_type="application/json", headers=headers(token)
        )

    def put(self, path: str, body: Any, token: str | None = TOKEN):
        return self.client.put(
            API + path, json.dumps(body), content_type="application/json", headers=headers(token)
        )

    def launch(self, body: Any = None, org: str = ACME, token: str | None = TOKEN):
        return self.post(
            f"/organizations/{org}/runs", launch_body() if body is None else body, token
        )


@pytest.fixture
def seeded(db):
    demo.seed()


@pytest.fixture
def api(client, seeded):
    return Api(client)
