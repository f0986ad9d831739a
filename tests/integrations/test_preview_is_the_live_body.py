"""The preview is the exact live body: for every captured Tally payload, the body the builder's
preview shows equals, byte for byte, the body the pipeline sends for that submission."""

import json
from pathlib import Path

import pytest
import respx
from django.utils import timezone

from integrations import delivery as service
from integrations.models import DeliveryAttempt, Endpoint, FieldMapping, Mapping, MappingVersion
from integrations.previews import mapping_preview
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "tally").glob("*.json"))
TALLY = "https://tally.test"
TALLYFY = "https://tallyfy.test/api"
ORG = f"/api/organizations/{pf.ACME_ID}"
FIELD_ID = "a" * 32
STEP_ID = "b" * 32
MEMBERS = [
    {"id": 40002, "email": "sam.rivera@acme.example", "full_name": "Sam Rivera"},
]


@pytest.fixture(autouse=True)
def vendor_urls(settings):
    settings.TALLY_API_BASE_URL = TALLY
    settings.TALLYFY_API_BASE_URL = TALLYFY
    settings.TALLYFY_APP_BASE_URL = "https://app.tallyfy.test"


def mapping_for(payload: dict) -> Mapping:
    """A mapping of the payload's form that uses every kind of input a launch has: each
    answer (through a template rule), the context placeholders, people from a constant and
    from an email answer, and a deadline counted from the submission."""
    data = payload["data"]
    mapping = Mapping.objects.create(
        name="Everything",
        tally_connection=pf.tally_connection(),
        form_id=data["formId"],
        form_name=data["formName"],
        tallyfy_connection=pf.tallyfy_connection(),
        template_id=pf.CLIENT_ONBOARDING_ID,
        template_name="Client onboarding",
        status=Mapping.Status.ENABLED,
    )
    email = next((f["key"] for f in data["fields"] if f["type"] == "INPUT_EMAIL"), None)
    people = [
        {
            "target": f"step:{STEP_ID}",
            "source": "constant",
            "constant": [{"kind": "user", "id": "40002", "label": "Sam Rivera"}],
        }
    ]
    if email:
        people.append({"target": f"step:{STEP_ID}", "source": "email", "source_key": email})
    version = MappingVersion.objects.create(
        mapping=mapping,
        number=1,
        name_template="{form_name} · {submission_id} · {submitted_at} · {form_id}",
        summary_template="Respondent {respondent_id}",
        tags=["tag-1"],
        people=people,
        deadlines=[{"step_id": STEP_ID, "source": "submitted", "offset_days": 3}],
        template_steps=[{"id": STEP_ID, "title": "Welcome call", "position": 1}],
        template_fields=[
            {"id": FIELD_ID, "label": "Answers", "field_type": "textarea", "required": True}
        ],
    )
    FieldMapping.objects.create(
        version=version,
        target_field_id=FIELD_ID,
        target_label="Answers",
        target_type="textarea",
        target_required=True,
        source=FieldMapping.Source.TEMPLATE,
        template=" | ".join("{" + f["key"] + "}" for f in data["fields"]),
    )
    mapping.current_version = version
    mapping.save(update_fields=["current_version"])
    return mapping


def vendors(payload: dict) -> respx.MockRouter:
    data = payload["data"]
    form = f"/forms/{data['formId']}"
    router = respx.mock(assert_all_called=False)
    run = {"data": {"id": "run-1", "name": "x", "created_at": timezone.now().isoformat()}}
    router.post(f"{TALLYFY}{ORG.removeprefix('/api')}/runs").respond(201, json=run)
    router.get(f"{TALLYFY}{ORG.removeprefix('/api')}/runs").respond(200, json={"data": []})
    router.get(f"{TALLYFY}{ORG.removeprefix('/api')}/runs/run-1").respond(200, json=run)
    router.get(f"{TALLYFY}{ORG.removeprefix('/api')}/users").respond(200, json={"data": MEMBERS})
    router.get(f"{TALLYFY}{ORG.removeprefix('/api')}/groups").respond(200, json={"data": []})
    router.get(f"{TALLY}{form}").respond(
        200, json={"id": data["formId"], "name": data["formName"], "blocks": []}
    )
    router.get(f"{TALLY}{form}/questions").respond(200, json={"questions": []})
    router.get(f"{TALLY}{form}/submissions").respond(
        200,
        json={
            "page": 1,
            "limit": 10,
            "hasMore": False,
            "questions": [],
            "submissions": [
                {
                    "id": data["submissionId"],
                    "formId": data["formId"],
                    "respondentId": data.get("respondentId"),
                    "isCompleted": True,
                    "submittedAt": data["createdAt"],
                    "responses": [],
                }
            ],
        },
    )
    return router


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_the_preview_body_is_the_body_the_pipeline_sends(path, db, operator):
    payload = json.loads(path.read_text())
    mapping = mapping_for(payload)
    with vendors(payload):
        [delivery] = pf.ingest(mapping, payload)
        service.delivery_process(delivery.pk)
        sent = DeliveryAttempt.objects.get(delivery=delivery).request_body
        preview = mapping_preview(
            mapping=mapping, submission_id=payload["data"]["submissionId"], marker=delivery.marker
        )

    assert sent is not None and preview.plan is not None
    assert json.dumps(preview.plan.body, sort_keys=True) == json.dumps(sent, sort_keys=True)
    # The context placeholders are filled, not left empty.
    data = payload["data"]
    assert data["formId"] in sent["name"] and data["submissionId"] in sent["name"]
    assert sent["tasks"][STEP_ID]["deadline"].endswith(".000Z")
    assert 40002 in sent["tasks"][STEP_ID]["owners"]["users"]
    assert Endpoint.objects.count() == 1
