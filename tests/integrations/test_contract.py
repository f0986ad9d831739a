"""The vendor contract's launch-rule assumptions: which deadline format Kickoff sends to a
Tallyfy organization, and whether templates list their steps — as recorded per connection
and shown on the Connections page."""

import pytest

from integrations import contract
from tests.factories import TallyfyConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tallyfy():
    return TallyfyConnectionFactory()


def test_deadlines_go_as_iso_until_something_was_seen(tallyfy):
    assert contract.deadline_format_for(tallyfy) == "iso"
    assert contract.check_state(tallyfy, contract.DEADLINE_FORMAT) == ""


def test_an_accepted_iso_deadline_verifies_the_assumption_and_keeps_iso(tallyfy):
    contract.record_deadline_outcome(
        tallyfy, fmt="iso", accepted=True, detail="Onboarding – Acme launched with 2 deadlines"
    )
    assert contract.deadline_format_for(tallyfy) == "iso"
    check = contract.check_get(tallyfy, contract.DEADLINE_FORMAT)
    assert check.state == "verified"
    assert "2 deadlines" in check.detail


def test_a_refused_iso_deadline_switches_the_connection_to_the_space_format(tallyfy):
    contract.record_deadline_outcome(
        tallyfy, fmt="iso", accepted=False, detail="tasks.abc.deadline: must be YYYY-MM-DD"
    )
    assert contract.deadline_format_for(tallyfy) == "space"
    assert contract.check_state(tallyfy, contract.DEADLINE_FORMAT) == "failed"


def test_the_space_format_accepted_later_keeps_space_and_says_so(tallyfy):
    contract.record_deadline_outcome(tallyfy, fmt="iso", accepted=False, detail="refused")
    contract.record_deadline_outcome(tallyfy, fmt="space", accepted=True, detail="launched")
    assert contract.deadline_format_for(tallyfy) == "space"
    check = contract.check_get(tallyfy, contract.DEADLINE_FORMAT)
    assert check.state == "failed"  # the ISO assumption stays failed: it is what was refused
    assert "YYYY-MM-DD HH:MM:SS accepted" in check.detail


def test_each_connection_keeps_its_own_deadline_format(tallyfy):
    other = TallyfyConnectionFactory()
    contract.record_deadline_outcome(tallyfy, fmt="iso", accepted=False, detail="refused")
    assert contract.deadline_format_for(other) == "iso"


@pytest.mark.parametrize(
    ("listed", "state", "words"),
    [(True, "verified", "with its steps"), (False, "failed", "without")],
)
def test_it_records_whether_a_template_listed_its_steps(tallyfy, listed, state, words):
    contract.record_template_steps(tallyfy, listed=listed, template_title="Client onboarding")
    check = contract.check_get(tallyfy, contract.TEMPLATE_STEPS)
    assert check.state == state
    assert "Client onboarding" in check.detail and words in check.detail


def test_both_assumptions_are_listed_for_tallyfy_with_their_sources(tallyfy):
    contract.record_template_steps(tallyfy, listed=False, template_title="Client onboarding")
    views = {v.assumption.key: v for v in contract.checks_for(tallyfy)}
    deadline, steps = views[contract.DEADLINE_FORMAT], views[contract.TEMPLATE_STEPS]
    assert (deadline.label, deadline.assumption.source) == ("Not yet verified", "doc")
    assert "YYYY-MM-DD HH:MM:SS" in deadline.assumption.meanwhile
    assert (steps.label, steps.assumption.source) == ("Failed", "seen")
