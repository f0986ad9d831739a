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


# --- Task form values: captures or taskdata ---------------------------------------------


def test_task_values_go_by_captures_until_something_was_seen(tallyfy):
    assert contract.task_values_way(tallyfy) == "captures"
    assert contract.check_state(tallyfy, contract.TASK_VALUES) == ""


def test_accepted_captures_verify_the_assumption_and_keep_captures(tallyfy):
    contract.record_task_values(
        tallyfy, way="captures", accepted=True, detail="Client sign-off: 2 fields saved"
    )
    assert contract.task_values_way(tallyfy) == "captures"
    check = contract.check_get(tallyfy, contract.TASK_VALUES)
    assert check.state == "verified" and "2 fields saved" in check.detail


def test_captures_refused_as_unknown_switch_the_connection_to_taskdata(tallyfy):
    contract.record_task_values(
        tallyfy, way="captures", accepted=False, detail="404 endpoint not found"
    )
    assert contract.task_values_way(tallyfy) == "taskdata"
    assert contract.check_state(tallyfy, contract.TASK_VALUES) == "failed"
    other = TallyfyConnectionFactory()
    assert contract.task_values_way(other) == "captures"


def test_taskdata_accepted_later_keeps_taskdata_and_says_so(tallyfy):
    contract.record_task_values(tallyfy, way="captures", accepted=False, detail="404")
    contract.record_task_values(tallyfy, way="taskdata", accepted=True, detail="saved")
    assert contract.task_values_way(tallyfy) == "taskdata"
    check = contract.check_get(tallyfy, contract.TASK_VALUES)
    assert check.state == "failed"  # the captures assumption is what was refused
    assert "taskdata accepted: saved" in check.detail


def test_the_task_values_assumption_is_listed_for_tallyfy(tallyfy):
    views = {v.assumption.key: v for v in contract.checks_for(tallyfy)}
    task_values = views[contract.TASK_VALUES]
    assert (task_values.label, task_values.assumption.source) == ("Not yet verified", "seen")
    assert "taskdata" in task_values.assumption.meanwhile
