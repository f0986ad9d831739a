"""The pages of a delivery that needs a check: the candidates, the two answers, who may give
them, and the count on the Overview."""

import pytest
import respx
from django.urls import reverse

from integrations.models import AuditEvent, Delivery
from tests import pipeline_factories as pf

API = "https://tallyfy.test/api"
RUN = f"/api/organizations/{pf.ACME_ID}/runs/r1"


@pytest.fixture(autouse=True)
def tallyfy_urls(settings):
    settings.TALLYFY_API_BASE_URL = API
    settings.TALLYFY_APP_BASE_URL = "https://app.tallyfy.test"


@pytest.fixture
def waiting(db, task_queue):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    delivery = pf.ingest(mapping)[0]
    candidates = [
        {
            "id": "r1",
            "name": "Ticket from ria@example.com",
            "created_at": "2026-11-30T10:00:00+00:00",
            "url": f"https://app.tallyfy.test/{pf.ACME_ID}/processes/r1",
        }
    ]
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.NEEDS_CHECK, outcome_unknown=True, candidates=candidates
    )
    return Delivery.objects.get(pk=delivery.pk)


def test_the_page_lists_the_candidate_runs_and_both_answers(staff_client, waiting):
    page = staff_client.get(reverse("dashboard:delivery_detail", args=[waiting.pk])).content
    page = page.decode()

    assert "Did Tallyfy create this run?" in page
    assert "Ticket from ria@example.com" in page and "2026-11-30 10:00:00" in page
    assert "Use this run" in page and "It was not created — launch" in page


def test_a_viewer_sees_the_question_but_no_buttons_and_may_not_answer(client, viewer, waiting):
    client.force_login(viewer)
    page = client.get(reverse("dashboard:delivery_detail", args=[waiting.pk])).content.decode()
    assert "Did Tallyfy create this run?" in page and "Use this run" not in page

    response = client.post(
        reverse("dashboard:delivery_use_run", args=[waiting.pk]), {"run_id": "r1"}
    )
    assert response.status_code == 403
    assert Delivery.objects.get(pk=waiting.pk).status == Delivery.Status.NEEDS_CHECK


def test_choosing_a_run_adopts_it_and_says_so(staff_client, waiting):
    with respx.mock(base_url="https://tallyfy.test") as tallyfy:
        tallyfy.get(RUN).respond(
            200, json={"data": {"id": "r1", "checklist_id": pf.SUPPORT_TRIAGE_ID, "name": "T"}}
        )
        response = staff_client.post(
            reverse("dashboard:delivery_use_run", args=[waiting.pk]), {"run_id": "r1"}, follow=True
        )

    assert f"Delivery {waiting.pk} now points at run r1." in response.content.decode()
    assert Delivery.objects.get(pk=waiting.pk).run_id == "r1"
    assert AuditEvent.objects.filter(action="delivery.run_chosen").exists()


def test_an_empty_run_id_is_refused_with_a_message_and_changes_nothing(staff_client, waiting):
    response = staff_client.post(
        reverse("dashboard:delivery_use_run", args=[waiting.pk]),
        {"run_id": "  "},
        headers={"HX-Request": "true"},
    )

    assert "Choose a run, or paste a Tallyfy run id." in response.headers["HX-Trigger"]
    assert Delivery.objects.get(pk=waiting.pk).status == Delivery.Status.NEEDS_CHECK


def test_saying_no_run_was_made_queues_one_launch(staff_client, waiting):
    url = reverse("dashboard:delivery_launch_unchecked", args=[waiting.pk])
    first = staff_client.post(url, follow=True).content.decode()
    second = staff_client.post(url, follow=True).content.decode()

    assert f"Delivery {waiting.pk} is being launched." in first
    assert "pending already" in second
    delivery = Delivery.objects.get(pk=waiting.pk)
    assert delivery.status == Delivery.Status.PENDING and not delivery.outcome_unknown


def test_the_overview_counts_what_needs_a_check_and_links_to_it(staff_client, waiting):
    page = staff_client.get(reverse("dashboard:overview")).content.decode()
    assert "1 delivery needs a check" in page
    assert "?status=needs_check" in page

    listed = staff_client.get(reverse("dashboard:deliveries") + "?status=needs_check")
    assert f'id="delivery-{waiting.pk}"' in listed.content.decode()
