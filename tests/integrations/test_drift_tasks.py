"""Drift of a "Complete a task" mapping: compared with its step's task fields, not the
template's kick-off fields; a step removed from the template is said in words."""

import pytest
import respx

from integrations.drift import mapping_check_drift
from tests import pipeline_factories as pf
from tests.integrations.test_task_completion import BY_EMAIL, CAPTURES, STEP, task_mapping

pytestmark = pytest.mark.usefixtures("clean_cache")

ORG = f"/api/organizations/{pf.ACME_ID}"


@pytest.fixture(autouse=True)
def urls(settings):
    settings.TALLYFY_API_BASE_URL = "https://tallyfy.test/api"
    settings.TALLY_API_BASE_URL = "https://tally.test"


def vendors(steps):
    router = respx.mock(assert_all_called=False)
    router.get(f"https://tallyfy.test{ORG}/checklists/{pf.SUPPORT_TRIAGE_ID}").respond(
        200,
        json={
            "data": {
                "id": pf.SUPPORT_TRIAGE_ID,
                "title": "Support ticket triage",
                "prerun": pf.TRIAGE_FIELDS,
                "steps": steps,
            }
        },
    )
    form = f"https://tally.test/forms/{pf.SUPPORT_FORM_ID}"
    router.get(form).respond(200, json={"id": pf.SUPPORT_FORM_ID, "name": "Support", "blocks": []})
    router.get(f"{form}/questions").respond(200, json={"questions": pf.SUPPORT_QUESTIONS})
    return router


def test_a_task_mapping_whose_step_is_unchanged_fits(db, operator):
    mapping = task_mapping(run_match=BY_EMAIL)
    with vendors([{"id": STEP, "title": "Resolve", "captures": CAPTURES}]):
        assert mapping_check_drift(mapping) == []


def test_a_task_field_gone_from_the_step_is_drift(db, operator):
    mapping = task_mapping(run_match=BY_EMAIL)
    with vendors([{"id": STEP, "title": "Resolve", "captures": []}]):
        differences = mapping_check_drift(mapping)
    assert any("Resolution notes" in d for d in differences)
    mapping.refresh_from_db()
    assert mapping.needs_attention


def test_a_step_gone_from_the_template_is_said(db, operator):
    mapping = task_mapping(run_match=BY_EMAIL)
    with vendors([{"id": "other", "title": "Triage", "captures": []}]):
        differences = mapping_check_drift(mapping)
    assert differences[0] == "The template no longer has the step “Resolve”."
