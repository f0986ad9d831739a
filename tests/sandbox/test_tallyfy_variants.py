# ruff: noqa: F811
# (F811: pytest fixtures imported from the support module)
"""The sandbox Tallyfy's variant switches: runs search by summary or name only, summary kept
or dropped at launch, table values strict (documented) or lenient — as a caller sees each."""

from __future__ import annotations

import json

import pytest

from integrations.sandbox.tallyfy import switches
from integrations.sandbox.tallyfy.models import Task
from tests.sandbox.test_tallyfy_support import (  # noqa: F401 (fixtures)
    ACME,
    CONTROL,
    api,
    f,
    launch_body,
    seeded,
)

RUNS = f"/organizations/{ACME}/runs"
FLAT = ["Jo Bloggs", "CEO", "+1 555 0100"]
OBJECTS = [
    {"id": 1, "label": "Name", "value": ["Jo Bloggs"]},
    {"id": 2, "label": "Role", "value": ["CEO"]},
    {"id": 3, "label": "Phone", "value": ["+1 555 0100"]},
]


def flip(client, **values: str) -> None:
    resp = client.post(CONTROL + "/switches", json.dumps(values), content_type="application/json")
    assert resp.status_code == 200, resp.content


def launch_with_table(api, table) -> object:
    prerun = {**launch_body()["prerun"], f("contacts"): table}
    return api.launch(launch_body(prerun=prerun))


# --- The switches themselves ------------------------------------------------------------


def test_every_switch_starts_at_its_setting_whose_default_is_the_first_value(client, seeded):
    listed = client.get(CONTROL + "/switches").json()["data"]
    assert [s["name"] for s in listed] == [
        "runs_search",
        "summary",
        "table_shape",
        "deadline_format",
        "template_steps",
        "task_values",
    ]
    for s in listed:
        assert s["value"] == s["default"] == s["values"][0]["value"]
        assert s["setting"].startswith("SANDBOX_TALLYFY_")


def test_a_setting_chooses_the_variant_until_the_control_api_flips_it(api, client, settings):
    settings.SANDBOX_TALLYFY_SUMMARY = "dropped"
    assert api.launch().json()["data"]["summary"] is None
    flip(client, summary="kept")
    assert api.launch().json()["data"]["summary"] == "kickoff delivery 17"
    client.delete(CONTROL + "/switches")
    assert api.launch().json()["data"]["summary"] is None


def test_it_refuses_an_unknown_switch_or_value(client, seeded):
    bad = client.post(CONTROL + "/switches", {"summary": "maybe"})
    assert bad.status_code == 400
    assert "summary must be one of kept, dropped" in bad.json()["message"]
    assert client.post(CONTROL + "/switches", {"nope": "x"}).status_code == 400
    assert switches.current(switches.SUMMARY) == "kept"


def test_the_home_page_flips_switches_and_a_reset_puts_them_back(client, seeded):
    page = client.get("/sandbox/tallyfy/").content.decode()
    assert 'name="table_shape"' in page and "SANDBOX_TALLYFY_TABLE_SHAPE=strict" in page
    flips = {"table_shape": "lenient", "summary": "dropped"}
    resp = client.post("/sandbox/tallyfy/switches", flips)
    assert resp.status_code == 302
    assert '<option value="lenient" selected>' in client.get("/sandbox/tallyfy/").content.decode()
    assert switches.current(switches.TABLE_SHAPE) == "lenient"
    client.post(CONTROL + "/reset")
    assert switches.current(switches.TABLE_SHAPE) == "strict"
    assert switches.current(switches.SUMMARY) == "kept"


# --- Runs search ------------------------------------------------------------------------


def test_runs_are_found_by_a_marker_in_their_summary_by_default(api):
    api.launch(launch_body(name="Onboarding – Acme", summary="Kickoff reference: k-1-delivery-7"))
    found = api.get(RUNS, q="k-1-delivery-7").json()["data"]
    assert [r["name"] for r in found] == ["Onboarding – Acme"]


def test_runs_search_can_match_the_name_only(api, client):
    flip(client, runs_search="name_only")
    api.launch(launch_body(name="Onboarding – Acme", summary="Kickoff reference: k-1-delivery-7"))
    assert api.get(RUNS, q="k-1-delivery-7").json()["data"] == []
    assert [r["name"] for r in api.get(RUNS, q="acme").json()["data"]] == ["Onboarding – Acme"]


# --- Summary at launch ------------------------------------------------------------------


def test_a_launch_keeps_its_summary_by_default(api):
    run = api.launch().json()["data"]
    assert run["summary"] == "kickoff delivery 17"
    assert api.get(f"{RUNS}/{run['id']}").json()["data"]["summary"] == "kickoff delivery 17"


def test_a_launch_can_silently_drop_its_summary(api, client):
    flip(client, summary="dropped")
    created = api.launch()
    assert created.status_code == 201
    run = created.json()["data"]
    assert run["summary"] is None
    assert api.get(f"{RUNS}/{run['id']}").json()["data"]["summary"] is None
    # Even a summary of the wrong type is ignored, not refused: Tallyfy does not read it.
    assert api.launch(launch_body(summary=17)).status_code == 201


# --- Table kick-off values --------------------------------------------------------------


@pytest.mark.parametrize("shape", ["lenient", "strict"])
def test_a_flat_list_one_string_per_column_is_always_accepted(api, client, shape):
    flip(client, table_shape=shape)
    created = launch_with_table(api, FLAT)
    assert created.status_code == 201, created.content
    assert created.json()["data"]["prerun"][f("contacts")] == FLAT


def test_lenient_tables_also_take_objects_per_column_and_lists_of_rows(api, client):
    flip(client, table_shape="lenient")
    assert launch_with_table(api, OBJECTS).status_code == 201
    rows = [["Jo Bloggs", "Ann Lee"], ["CEO", "CTO"], ["+1 555 0100", "+1 555 0101"]]
    assert launch_with_table(api, rows).status_code == 201


@pytest.mark.parametrize(
    "table",
    [
        OBJECTS,
        [["Jo Bloggs"], ["CEO"], ["+1 555 0100"]],
        ["Jo Bloggs", "CEO", 5550100],
        ["Jo Bloggs", "CEO"],
    ],
    ids=["objects", "lists", "a-number", "too-few"],
)
def test_strict_tables_refuse_anything_but_the_flat_list_by_default(api, client, table):
    refused = launch_with_table(api, table)
    assert refused.status_code == 422
    assert refused.json()["errors"][f("contacts")] == [
        "Contacts must be a flat list of strings, exactly one per column (3)."
    ]


def test_strict_tables_hold_for_task_form_values_too(api, client):
    run_id = api.launch().json()["data"]["id"]
    task = Task.objects.select_related("step").filter(run_id=run_id).first()
    table = {"id": "t" * 32, "label": "Parts", "field_type": "table", "required": False}
    table["columns"] = [{"id": 1, "label": "Part"}, {"id": 2, "label": "Qty"}]
    task.step.captures = [*task.step.captures, table]
    task.step.save()
    url = f"/organizations/{ACME}/runs/{run_id}/tasks/{task.id}"
    flip(client, table_shape="lenient")
    assert api.put(url, {"taskdata": {table["id"]: [["Widget"], ["3"]]}}).status_code == 200
    flip(client, table_shape="strict")
    refused = api.put(url, {"taskdata": {table["id"]: [["Widget"], ["3"]]}})
    assert refused.status_code == 422
    accepted = api.put(url, {"taskdata": {table["id"]: ["Widget", "3"]}})
    assert accepted.status_code == 200
    assert accepted.json()["data"]["taskdata"][table["id"]] == ["Widget", "3"]
