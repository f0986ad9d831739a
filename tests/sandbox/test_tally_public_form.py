"""The sandbox Tally's public form link, `/r/<form id>` like https://tally.so/r/<form id>:
hidden fields take their values from the link's URL parameters, and a response sent from it
is stored and delivered exactly like one from the submit page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from integrations.sandbox.tally.catalog import ONBOARDING_FORM_ID, SIGNOFF_FORM_ID
from integrations.sandbox.tally.models import Form, Submission

from . import test_tally_support as support
from .test_tally_support import register_webhook

# Shared fixtures (this package has no conftest of its own).
api = support.api
receiver = support.receiver
tally = support.tally

HIDDEN = "question_Rt5hJp"
KICKOFF_REF = f"{HIDDEN}_2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c41"
RUN_ID = f"{HIDDEN}_3d5f7b91-2c4e-4a6b-9d8f-0e1a2b3c4d52"
TASK_ID = f"{HIDDEN}_4e6a8ca2-3d5f-4b7c-8e9a-1f2b3c4d5e63"
APPROVE = "5f7b9db3-4e6a-4c8d-9fab-2a3c4d5e6f74"
LINK = {"kickoff_ref": "kickoff:delivery-42", "run_id": "r" * 32, "task_id": "t" * 32}


def public_url(form_id: str = SIGNOFF_FORM_ID, **params: str) -> str:
    url = reverse("sandbox_tally:public_form", args=[form_id])
    return f"{url}?{urlencode(params)}" if params else url


def test_the_link_matches_the_forms_base_url_kickoff_builds_links_from():
    assert public_url("abc123") == "/sandbox/tally/r/abc123"
    assert settings.TALLY_FORMS_BASE_URL.endswith("/sandbox/tally/r")


def test_the_sign_off_form_is_seeded_with_its_hidden_fields_and_questions(tally):
    form = Form.objects.get(id=SIGNOFF_FORM_ID)
    assert form.name == "Client sign-off" and form.owner_id == "mOQbWz"
    hidden = form.questions[0]
    assert hidden["type"] == "HIDDEN_FIELDS"
    assert [v["name"] for v in hidden["variables"]] == ["kickoff_ref", "run_id", "task_id"]
    rest = [(q["title"], q["type"]) for q in form.questions[1:]]
    assert rest == [
        ("Decision", "MULTIPLE_CHOICE"),
        ("Notes", "TEXTAREA"),
        ("Go-live date", "INPUT_DATE"),
    ]
    assert [o["text"] for o in form.questions[1]["options"]] == ["Approve", "Reject"]
    assert not form.submissions.exists()


def test_the_page_shows_the_hidden_values_from_the_link_read_only(client, tally):
    response = client.get(public_url(**LINK))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Client sign-off</h1>" in html
    assert 'Filled from the link: <span class="mono">kickoff_ref</span> = ' in html
    assert '<strong class="mono">kickoff:delivery-42</strong>' in html
    assert "t" * 32 in html
    assert f'name="{KICKOFF_REF}"' not in html  # nothing to edit
    for label in ("Decision", "Notes", "Go-live date"):
        assert label in html


def test_a_variable_missing_from_the_link_stays_empty(client, tally):
    html = client.get(public_url(kickoff_ref="kickoff:delivery-42")).content.decode()
    assert 'Not in the link: <span class="mono">run_id</span> stays empty' in html


def test_a_response_from_the_link_carries_the_hidden_values_in_its_webhook(client, api, receiver):
    register_webhook(api, SIGNOFF_FORM_ID, receiver.url)
    response = client.post(
        public_url(**LINK),
        {
            "question_Sv6jKq": APPROVE,
            "question_Tw7kLr": "All set",
            "question_Ux8mMs": "2026-05-01",
            # A respondent cannot override what the link says.
            KICKOFF_REF: "kickoff:someone-else",
        },
    )
    assert response.status_code == 200, response.content.decode()
    html = response.content.decode()
    assert "Response received" in html and "delivered" in html
    [payload] = receiver.payloads()
    assert payload["data"]["formId"] == SIGNOFF_FORM_ID
    fields = {f["key"]: f["value"] for f in payload["data"]["fields"]}
    assert fields[KICKOFF_REF] == "kickoff:delivery-42"
    assert fields[RUN_ID] == "r" * 32
    assert fields[TASK_ID] == "t" * 32
    assert fields["question_Sv6jKq"] == [APPROVE]
    assert fields["question_Tw7kLr"] == "All set"
    assert fields["question_Ux8mMs"] == "2026-05-01"
    stored = Submission.objects.get(form_id=SIGNOFF_FORM_ID)
    assert stored.answers["Rt5hJp"]["2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c41"] == "kickoff:delivery-42"


def test_a_response_without_the_required_answers_is_refused_and_nothing_is_sent(
    client, api, receiver
):
    register_webhook(api, SIGNOFF_FORM_ID, receiver.url)
    response = client.post(public_url(**LINK), {"question_Tw7kLr": "No decision"})
    assert response.status_code == 400
    assert "Decision is required." in response.content.decode()
    assert receiver.payloads() == []
    assert not Submission.objects.filter(form_id=SIGNOFF_FORM_ID).exists()


def test_the_link_works_for_any_published_form_and_404s_otherwise(client, tally):
    assert client.get(public_url(ONBOARDING_FORM_ID, ref="newsletter")).status_code == 200
    Form.objects.filter(id=ONBOARDING_FORM_ID).update(status="DRAFT")
    assert client.get(public_url(ONBOARDING_FORM_ID)).status_code == 404
    assert client.get(public_url("nope00")).status_code == 404


def test_the_home_page_links_each_form_to_its_public_link(client, tally):
    html = client.get("/sandbox/tally/").content.decode()
    assert f'href="{public_url()}"' in html and "Public link" in html
