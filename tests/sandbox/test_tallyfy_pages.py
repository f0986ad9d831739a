# ruff: noqa: F811
# (F811: pytest fixtures imported from the support module)
"""Sandbox Tallyfy HTML: the home page and a run page a person reads."""

from django.core.management import call_command

from integrations.sandbox.tallyfy.models import Checklist, Fault, Run
from tests.sandbox.test_tallyfy_support import (  # noqa: F401 (fixtures)
    ACME,
    TOKEN,
    api,
    f,
    good_prerun,
    launch_body,
    seeded,
)


def test_it_shows_a_run_with_every_kick_off_value_rendered_readably(api, client):
    run = api.launch().json()["data"]
    response = client.get(f"/sandbox/tallyfy/app/{ACME}/processes/{run['id']}")
    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        "Onboarding – Acme Ltd",
        "Client onboarding",
        "Company name",
        "Acme Ltd",
        "jo@acme.example",
        "1 Mar 2025, 09:30 UTC",
        "Growth",
        "North America",
        "Setup",
        "Data migration",
        "Line one<br>Line two",
        "<th>Role</th>",
        "<td>Jo Bloggs</td>",
        "<td>+1 555 0100</td>",
        '<a href="https://files.example/c.pdf" rel="noopener noreferrer">contract.pdf</a>',
        "Sam Rivera",
        "Onboarding team",
        "guest@example.com (guest)",
        "Set up account",
    ]:
        assert text in html, text
    assert "{&#x27;id&#x27;" not in html  # no raw dicts


def test_it_renders_multiselect_items_without_selected_as_blank(api, client):
    prerun = good_prerun()
    prerun[f("services")] = [{"id": 522, "text": "Integrations"}]
    run = api.launch(launch_body(prerun=prerun)).json()["data"]
    html = client.get(f"/sandbox/tallyfy/app/{ACME}/processes/{run['id']}").content.decode()
    assert "Integrations" not in html
    assert Run.objects.get(id=run["id"]).prerun[f("services")][0]["text"] == "Integrations"


def test_it_shows_a_table_cell_of_several_lines_one_line_each(api, client):
    prerun = good_prerun()
    prerun[f("contacts")] = ["Jo Bloggs\nAnn <Lee>", "CEO\nCTO", ""]
    run = api.launch(launch_body(prerun=prerun)).json()["data"]
    html = client.get(f"/sandbox/tallyfy/app/{ACME}/processes/{run['id']}").content.decode()
    assert "<td>Jo Bloggs<br>Ann &lt;Lee&gt;</td><td>CEO<br>CTO</td><td></td>" in html


def test_it_answers_404_for_a_run_of_another_org(api, client):
    run = api.launch().json()["data"]
    assert client.get(f"/sandbox/tallyfy/app/nope/processes/{run['id']}").status_code == 404


def test_it_shows_orgs_templates_runs_and_the_demo_token_on_home(api, client):
    run = api.launch().json()["data"]
    html = client.get("/sandbox/tallyfy/").content.decode()
    for text in ["Acme Operations", "Beta Studio", TOKEN, "Client onboarding", f("plan")]:
        assert text in html, text
    assert f"/sandbox/tallyfy/app/{ACME}/processes/{run['id']}" in html


def test_it_sets_and_clears_fault_switches_from_the_home_page(client, seeded):
    response = client.post("/sandbox/tallyfy/faults", {"kind": "429", "count": "2"})
    assert response.status_code == 302
    assert Fault.objects.get().remaining == 2
    client.post("/sandbox/tallyfy/faults", {"action": "clear"})
    assert not Fault.objects.exists()


def test_it_seeds_idempotently_from_the_management_command(db):
    call_command("sandbox_tallyfy_seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    ids = set(Checklist.objects.values_list("id", flat=True))
    call_command("sandbox_tallyfy_seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert set(Checklist.objects.values_list("id", flat=True)) == ids
    assert len(ids) == 28
