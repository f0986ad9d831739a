"""The preview shows whether this mapping would take the chosen submission (and what the
form's other mappings would do), and who gets the work by when, in names."""

import hashlib

import httpx
import pytest
from django.urls import reverse

from integrations.models import MappingVersion
from tests import pipeline_factories as pf

from .helpers import SUPPORT_FORM, builder_post

pytestmark = pytest.mark.django_db(transaction=True)


def step_id(title: str) -> str:
    key = ":".join(("sandbox-tallyfy", "step", "support-ticket-triage", title))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def submission(live_kickoff, category: str) -> str:
    return httpx.post(
        f"{live_kickoff}/sandbox/tally/control/forms/{SUPPORT_FORM}/submissions",
        json={
            "answers": {
                "Your email": "ann@example.com",
                "Category": category,
                "Describe the problem": "x",
            },
            "deliver": False,
        },
    ).json()["submissionId"]


@pytest.fixture
def routed(staff_client, support_mapping, vendors):
    """This mapping takes bugs, gives the Resolve step to Sam due two days after the
    submission; another enabled mapping of the form takes everything else."""
    _, _, seed = vendors
    staff_client.post(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]),
        builder_post(seed, requester_email="field:question_Ky5vXe"),
    )
    support_mapping.refresh_from_db()
    resolve = step_id("Resolve")
    MappingVersion.objects.filter(pk=support_mapping.current_version_id).update(
        condition={
            "join": "all",
            "clauses": [
                {
                    "source_key": "question_Lz6wYf",
                    "op": "equals",
                    "value": "Bug",
                    "label": "Category",
                }
            ],
        },
        template_steps=[{"id": resolve, "title": "Resolve", "position": 2}],
        people=[
            {
                "target": f"step:{resolve}",
                "source": "constant",
                "constant": [{"kind": "user", "id": "40002", "label": "Sam Rivera"}],
            }
        ],
        deadlines=[{"step_id": resolve, "source": "submitted", "offset_days": 2}],
    )
    other = pf.support_mapping(
        tally=support_mapping.tally_connection,
        tallyfy=support_mapping.tallyfy_connection,
        name="Everything else",
    )
    MappingVersion.objects.filter(pk=other.current_version_id).update(otherwise=True)
    return support_mapping


def preview(staff_client, mapping, submission_id) -> str:
    return staff_client.get(
        reverse("dashboard:mapping_preview", args=[mapping.pk]), {"submission": submission_id}
    ).content.decode()


def test_a_bug_would_launch_here_with_sams_step_and_its_deadline(
    staff_client, routed, live_kickoff
):
    page = preview(staff_client, routed, submission(live_kickoff, "Bug"))

    section = page.split('id="routing"')[1].split("</section>")[0]
    assert "Launches" in section and "Takes it: Category is “Bug”" in section
    assert "Everything else" in section and "Routed to" in section
    people = page.split('id="people"')[1].split("</section>")[0]
    assert "Step “Resolve”" in people and "Sam Rivera" in people
    assert ".000Z" in people  # the deadline the body carries, in UTC


def test_anything_else_would_be_routed_to_the_other_mapping(staff_client, routed, live_kickoff):
    page = preview(staff_client, routed, submission(live_kickoff, "Billing"))

    section = page.split('id="routing"')[1].split("</section>")[0]
    assert "Routed elsewhere" in section
    assert "Category is “Billing”, not “Bug”" in section
