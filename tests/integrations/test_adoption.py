"""Finding the run of a launch whose answer never came back, three ways."""

from datetime import UTC, datetime, timedelta

import pytest

from integrations import adoption
from integrations.contract import RUN_LOOKUP, SUMMARY_KEPT, check_state
from integrations.http import Page
from integrations.tallyfy.client import Run
from tests.factories import TallyfyConnectionFactory

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MARKER = "kickoff-abcd1234-delivery-7"
SUMMARY = f"New client\nKickoff reference: {MARKER}"


def run(id, *, summary=None, name="Onboarding: Ada", prerun=None, minutes_ago=1):
    return Run(
        id=id,
        name=name,
        status="active",
        prerun=prerun if prerun is not None else {"f1": "ada@example.com"},
        summary=summary,
        created_at=NOW - timedelta(minutes=minutes_ago),
        checklist_id="tpl",
    )


class Tallyfy:
    """Runs as Tallyfy lists them; `searchable` says whether `q` reads summaries."""

    def __init__(self, runs, *, searchable=True):
        self.runs = sorted(runs, key=lambda r: r.created_at, reverse=True)
        self.searchable = searchable
        self.calls = []

    def find_runs(self, checklist_id=None, q=None, per_page=25, page=1):
        self.calls.append(("find_runs", q, page))
        found = [
            r
            for r in self.runs
            if not q or (self.searchable and q in (r.summary or "")) or q in (r.name or "")
        ]
        items = found[(page - 1) * per_page : page * per_page]
        return Page(items=items, has_more=page * per_page < len(found), page=page)

    def get_run(self, run_id):
        return next(r for r in self.runs if r.id == run_id)


@pytest.fixture
def tallyfy_connection(db):
    return TallyfyConnectionFactory()


def lookup(client, **kwargs):
    args = dict(
        checklist_id="tpl",
        markers=[MARKER],
        name="Onboarding: Ada",
        prerun={"f1": "ada@example.com"},
        since=NOW - timedelta(minutes=2),
    )
    return adoption.run_lookup(client, **(args | kwargs))


def test_a_search_by_the_reference_finds_the_run():
    found = lookup(Tallyfy([run("r1", summary=SUMMARY), run("r0")]))
    assert (found.run.id, found.how) == ("r1", adoption.SEARCH)


def test_a_reference_that_only_starts_the_same_is_not_this_run():
    other = run("r12", summary=f"Kickoff reference: {MARKER}2")
    found = lookup(Tallyfy([other], searchable=True), name="Someone else")
    assert found.run is None


def test_when_search_ignores_summaries_the_newest_runs_are_read():
    found = lookup(Tallyfy([run("r1", summary=SUMMARY)], searchable=False))
    assert (found.run.id, found.how) == ("r1", adoption.RECENT)


def test_when_the_summary_was_dropped_the_one_run_with_its_name_and_values_is_it():
    client = Tallyfy(
        [
            run("r1"),
            run("r2", name="Onboarding: Bob", prerun={"f1": "bob@example.com"}),
            run("old", minutes_ago=60),
        ],
        searchable=False,
    )
    found = lookup(client)
    assert (found.run.id, found.how) == ("r1", adoption.MATCH)


def test_two_runs_alike_are_candidates_not_a_guess():
    found = lookup(Tallyfy([run("r1"), run("r2")], searchable=False))
    assert found.run is None
    assert {r.id for r in found.candidates} == {"r1", "r2"}


def test_a_run_another_delivery_owns_is_never_adopted():
    found = lookup(Tallyfy([run("r1")], searchable=False), taken={"r1"})
    assert found.run is None and found.candidates == ()


def test_values_tallyfy_echoes_differently_decide_nothing_but_text_does():
    assert adoption.values_agree({"f1": "a", "f2": {"id": 1}}, [{"id": "f1", "value": "a"}])
    assert not adoption.values_agree({"f1": "a"}, {"f1": "b"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("searchable", "summary_kept", "how"),
    [
        (True, True, adoption.SEARCH),
        (False, True, adoption.RECENT),
        (False, False, adoption.MATCH),
    ],
)
def test_after_a_launch_the_way_that_finds_its_run_is_recorded(
    tallyfy_connection, searchable, summary_kept, how
):
    launched = run("r1", summary=SUMMARY if summary_kept else None)
    body = {"checklist_id": "tpl", "name": "Onboarding: Ada", "summary": SUMMARY}
    body["prerun"] = {"f1": "ada@example.com"}

    found = adoption.lookup_verify(
        tallyfy_connection,
        Tallyfy([launched], searchable=searchable),
        run=launched,
        body=body,
        since=NOW - timedelta(minutes=2),
    )

    assert found == how
    assert check_state(tallyfy_connection, RUN_LOOKUP) == "verified"
    assert check_state(tallyfy_connection, SUMMARY_KEPT) == (
        "verified" if summary_kept else "failed"
    )


@pytest.mark.django_db
def test_a_run_no_way_can_find_is_recorded_as_failed(tallyfy_connection):
    launched = run("r1")
    twin = run("r2")  # the same name and values: no way to tell them apart
    body = {"checklist_id": "tpl", "name": "Onboarding: Ada", "summary": SUMMARY}
    body["prerun"] = {"f1": "ada@example.com"}

    adoption.lookup_verify(
        tallyfy_connection,
        Tallyfy([launched, twin], searchable=False),
        run=launched,
        body=body,
        since=NOW - timedelta(minutes=2),
    )

    assert check_state(tallyfy_connection, RUN_LOOKUP) == "failed"


def test_more_runs_since_the_launch_than_a_look_up_reads_prove_nothing():
    others = [run(f"o{i}", name=f"Other {i}", minutes_ago=0) for i in range(600)]
    found = lookup(Tallyfy(others, searchable=False))
    assert found.run is None and found.ambiguous


def test_a_look_up_that_read_back_past_the_launch_is_conclusive():
    found = lookup(Tallyfy([run("o1", name="Other")], searchable=False))
    assert found.run is None and not found.ambiguous
