# ruff: noqa: F811
# (F811: pytest fixtures imported from the support module)
"""Launching a run: the prerun contract of docs/vendor-notes.md, field type by field type."""

import pytest

from integrations.sandbox.tallyfy import switches
from integrations.sandbox.tallyfy.models import Run
from tests.sandbox.test_tallyfy_support import (  # noqa: F401 (fixtures)
    ACME,
    ONBOARDING,
    TRIAGE,
    api,
    f,
    good_prerun,
    launch_body,
    seeded,
)

TRIAGE_KEY = "support-ticket-triage"


def with_value(alias, value):
    prerun = good_prerun()
    prerun[f(alias)] = value
    return launch_body(prerun=prerun)


def test_it_launches_with_every_field_type_and_answers_201(api):
    response = api.launch()
    assert response.status_code == 201
    data = response.json()["data"]
    assert len(data["id"]) == 32
    assert data["status"] == "active"
    assert data["checklist_id"] == ONBOARDING
    assert data["summary"] == "kickoff delivery 17"
    assert data["prerun"] == good_prerun()
    assert data["created_at"].endswith("Z")
    assert Run.objects.get(id=data["id"]).tasks.count() == 6


@pytest.mark.parametrize(
    ("alias", "value"),
    [
        ("company_name", "x" * 200),
        ("project_notes", "y" * 30_000),
        ("start_date", "2024-02-29T23:59:59.999Z"),
        ("region", "APAC"),
        ("services", [{"id": 522, "text": "Integrations"}]),  # stored, renders blank
        ("contacts", ["Jo", "CEO", "+1 555"]),  # one string per column
        ("signed_contract", []),
        ("account_manager", {"users": [40001]}),
        ("account_manager", {"guests": ["someone@example.org"]}),
    ],
)
def test_it_accepts_good_values(api, alias, value):
    response = api.launch(with_value(alias, value))
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["prerun"][f(alias)] == value


@pytest.mark.parametrize(
    ("alias", "value", "problem"),
    [
        ("company_name", 42, "must be a string"),
        ("company_name", "x" * 201, "greater than 200"),
        ("project_notes", "y" * 30_001, "greater than 30000"),
        ("contact_email", "not-an-email", "valid email"),
        ("contact_email", ["jo@acme.example"], "must be a string"),
        ("start_date", "2025-03-01", "YYYY-MM-DDTHH:MM:SS.000Z"),
        ("start_date", "2025-03-01T09:30:00Z", "YYYY-MM-DDTHH:MM:SS.000Z"),
        ("start_date", "2025-03-01T09:30:00.000+01:00", "YYYY-MM-DDTHH:MM:SS.000Z"),
        ("start_date", "2025-02-30T09:30:00.000Z", "YYYY-MM-DDTHH:MM:SS.000Z"),
        ("region", "north america", "invalid"),  # no case folding
        ("region", " EU", "invalid"),  # no trimming
        ("region", {"id": 408, "text": "North America"}, "text of one of its options"),
        ("plan", "Growth", '{"id": <int>'),
        ("plan", {"id": "308", "text": "Growth"}, '{"id": <int>'),
        ("plan", {"id": 308, "text": "growth"}, "invalid"),
        ("plan", {"id": 999, "text": "Growth"}, "invalid"),
        ("plan", {"id": 301, "text": "Growth"}, "invalid"),  # id and text disagree
        ("services", {"id": 501, "text": "Setup", "selected": True}, "must be a list"),
        ("services", ["Setup"], "must be a list"),
        ("services", [{"id": 501, "text": "setup", "selected": True}], "invalid"),
        ("contacts", ["Jo", "CEO"], "flat list of strings, exactly one per column (3)"),
        ("contacts", [["Jo"], ["CEO"], ["1"]], "flat list of strings, exactly one per column"),
        (
            "signed_contract",
            {"filename": "a.pdf", "source": "url", "url": "https://x.example/a"},
            "must be a list",
        ),
        (
            "signed_contract",
            [{"filename": "a.pdf", "url": "https://x.example/a"}],
            "must be a list",
        ),
        (
            "signed_contract",
            [{"filename": "a.pdf", "source": "url", "url": "not a url"}],
            "must be a list",
        ),
        ("account_manager", [40002], "must be an object"),
        ("account_manager", {"users": [99999]}, "unknown user"),
        ("account_manager", {"users": ["40002"]}, "unknown user"),
        ("account_manager", {"guests": ["nope"]}, "email"),
        ("account_manager", {"groups": ["nope"]}, "unknown group"),
        ("account_manager", {"people": [40002]}, "must be an object"),
    ],
)
def test_it_refuses_wrong_shapes_with_422_naming_the_field(api, alias, value, problem):
    response = api.launch(with_value(alias, value))
    assert response.status_code == 422
    body = response.json()
    assert problem in body["errors"][f(alias)][0]
    assert problem in body["message"]
    assert not Run.objects.exists()


def test_it_reports_each_missing_required_field_as_label_is_required(api):
    response = api.launch(launch_body(prerun={}))
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == {
        f("company_name"): ["Company name is required"],
        f("contact_email"): ["Contact email is required"],
        f("start_date"): ["Start date is required"],
        f("plan"): ["Plan is required"],
    }
    assert body["message"] == "Company name is required (and 3 more errors)"


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_it_counts_blank_values_as_missing(api, empty):
    response = api.launch(with_value("company_name", empty))
    assert response.status_code == 422
    assert response.json()["errors"] == {f("company_name"): ["Company name is required"]}


def test_it_silently_drops_label_and_alias_keys(api):
    body = {
        "checklist_id": TRIAGE,
        "name": "Ticket 1",
        "prerun": {
            f("requester_email", TRIAGE_KEY): "req@example.com",
            "Subject": "Printer on fire",  # a label
            "description": "It is really on fire",  # an alias
            "nonsense": 1,
        },
    }
    response = api.launch(body)
    assert response.status_code == 201
    assert response.json()["data"]["prerun"] == {
        f("requester_email", TRIAGE_KEY): "req@example.com"
    }


def test_it_refuses_required_fields_sent_under_their_labels(api):
    prerun = {"Company name": "Acme", "contact_email": "jo@acme.example"}
    response = api.launch(launch_body(prerun=prerun))
    assert response.status_code == 422
    assert response.json()["errors"][f("company_name")] == ["Company name is required"]


@pytest.mark.parametrize(
    "prerun",
    [
        [{"id": "x", "value": "y"}],
        [],
        [{"key": "requester_email", "value": "req@example.com"}],
    ],
)
def test_it_refuses_a_list_shaped_prerun(api, prerun):
    response = api.launch({"checklist_id": TRIAGE, "name": "Ticket", "prerun": prerun})
    assert response.status_code == 422
    assert "prerun" in response.json()["errors"]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "n" * 551}, "name"),
        ({"checklist_id": "0" * 32}, "checklist_id"),
        ({"checklist_id": None}, "checklist_id"),
        ({"summary": 5}, "summary"),
        ({"owner_id": 99999}, "owner_id"),
        ({"tags": "urgent"}, "tags"),
        ({"users": [12345]}, "users"),
        ({"tasks": []}, "tasks"),
    ],
)
def test_it_validates_the_rest_of_the_launch_body(api, change, key):
    response = api.launch(launch_body(**change))
    assert response.status_code == 422
    assert key in response.json()["errors"]


def test_it_accepts_a_name_of_exactly_550_characters(api):
    assert api.launch(launch_body(name="n" * 550)).status_code == 201


def test_it_refuses_a_checklist_of_another_organization(api):
    from integrations.sandbox.tallyfy.seed import DESIGN_BRIEF_ID

    response = api.launch(launch_body(checklist_id=DESIGN_BRIEF_ID))
    assert response.status_code == 422


def test_it_applies_launch_options_to_the_run_and_its_tasks(api):
    from integrations.sandbox.tallyfy.seed import stable_id

    step = stable_id("step", "client-onboarding", "Kickoff meeting")
    body = launch_body(
        owner_id=40003,
        tags=["t1"],
        tasks={step: {"deadline": "2025-04-01T00:00:00.000Z", "owners": {"users": [40002]}}},
    )
    data = api.launch(body).json()["data"]
    assert data["owner_id"] == 40003
    assert data["tags"] == ["t1"]
    run = Run.objects.get(id=data["id"])
    kickoff = run.tasks.get(step_id=step)
    assert kickoff.owners == {"users": [40002], "guests": [], "groups": []}
    assert kickoff.deadline == "2025-04-01T00:00:00.000Z"
    assert run.tasks.exclude(step_id=step).first().owners["users"] == [40003]


def test_it_answers_400_to_a_body_that_is_not_json(api):
    response = api.client.post(
        f"/sandbox/tallyfy/api/organizations/{ACME}/runs",
        "{nope",
        content_type="application/json",
        headers={
            "X-Tallyfy-Client": "APIClient",
            "Authorization": "Bearer tallyfy-sandbox-demo-token",
        },
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "value",
    [
        [{"id": 3, "value": "+1"}, {"id": 1, "value": "Jo"}, {"id": 2, "value": ""}],
        [
            {"label": "Name", "value": ["A", "B"]},
            {"label": "Role", "value": []},
            {"label": "Phone", "value": None},
        ],
    ],
    ids=["cell-objects", "cell-lists"],
)
def test_lenient_tables_also_accept_an_object_per_column(api, value):
    switches.flip("table_shape", "lenient")
    response = api.launch(with_value("contacts", value))
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["prerun"][f("contacts")] == value


@pytest.mark.parametrize(
    "value",
    [
        [["Jo"], ["CEO"]],
        [["Jo"], ["CEO"], ["1"], ["extra"]],
        "Jo, CEO, 555",
        [{"id": 1, "value": "a"}, {"id": 1, "value": "b"}, {"id": 2, "value": "c"}],
    ],
    ids=["too-few", "too-many", "a-string", "a-column-twice"],
)
def test_lenient_tables_still_want_exactly_one_entry_per_column(api, value):
    switches.flip("table_shape", "lenient")
    response = api.launch(with_value("contacts", value))
    assert response.status_code == 422
    assert "exactly one entry per column (3)" in response.json()["errors"][f("contacts")][0]
    assert not Run.objects.exists()
