"""The delivery page's state changes everywhere at once (heading, card, attempts, buttons),
the search box explains another install's reference, and a bulk retry's progress shows
where the deliveries it retried stand now."""

import json

import pytest
import respx
from django.urls import reverse
from django.utils import timezone

from integrations import retries, tasks
from integrations.models import BulkRetry, Delivery, Installation
from tests import pipeline_factories as pf

from .test_views import make

LIVE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "delivery-live"}
HEADING_OOB = '<span id="delivery-state" hx-swap-oob="true"><span class="badge {}">{}</span>'
TALLYFY = "https://tallyfy.test/api"
RUNS = f"/api/organizations/{pf.ACME_ID}/runs"


@pytest.fixture(autouse=True)
def vendor_urls(settings):
    settings.TALLYFY_API_BASE_URL = TALLYFY
    settings.TALLYFY_APP_BASE_URL = "https://app.tallyfy.test"


def test_the_full_page_has_one_heading_badge_and_no_out_of_band_copy(staff_client, mapping):
    d = make(mapping, status="retrying")
    page = staff_client.get(reverse("dashboard:delivery_detail", args=[d.pk])).content.decode()

    assert page.count('id="delivery-state"') == 1 and "hx-swap-oob" not in page
    assert '<span id="delivery-state"><span class="badge warn">Retrying</span>' in page


def test_cancel_next_try_answers_with_the_new_heading_state_too(staff_client, mapping):
    d = make(mapping, status="retrying")
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())

    response = staff_client.post(
        reverse("dashboard:delivery_cancel_next", args=[d.pk]), HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert HEADING_OOB.format("", "Cancelled") in html
    assert "Retrying" not in html and "Cancel next try" not in html


def test_a_retry_from_the_page_answers_with_the_new_heading_state(staff_client, mapping, sent):
    d = make(mapping, status="failed")

    response = staff_client.post(
        reverse("dashboard:delivery_retry", args=[d.pk]),
        {"from": "detail"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert HEADING_OOB.format("info", "Pending") in html
    assert '<div class="status-big"><span class="badge info">Pending</span>' in html


def test_the_live_poll_brings_the_heading_and_the_run_button_along(staff_client, mapping):
    d = make(mapping, status="sending")
    url = reverse("dashboard:delivery_detail", args=[d.pk])
    assert HEADING_OOB.format("info", "Sending") in staff_client.get(url, **LIVE).content.decode()

    run = "https://go.tallyfy.test/org/processes/r9"
    Delivery.objects.filter(pk=d.pk).update(status=Delivery.Status.SUCCEEDED, run_url=run)
    settled = staff_client.get(url, **LIVE).content.decode()

    assert HEADING_OOB.format("ok", "Succeeded") in settled
    button = settled.split('<span id="delivery-run-button" hx-swap-oob="true">', 1)[1]
    assert button.startswith(f'<a class="button" href="{run}"')


def test_another_installs_reference_finds_nothing_and_says_so(staff_client, mapping):
    d = make(mapping)
    ours = Installation.current().key
    theirs = "f" * len(ours) if ours != "f" * len(ours) else "e" * len(ours)

    html = staff_client.get(
        "/deliveries/", {"q": f"Kickoff reference: kickoff-{theirs}-delivery-{d.pk}"}
    ).content.decode()

    assert f'id="delivery-{d.pk}"' not in html
    assert "made by another Kickoff install" in html and theirs in html and ours in html
    mine = staff_client.get("/deliveries/", {"q": d.marker}).content.decode()
    assert f'id="delivery-{d.pk}"' in mine and "another Kickoff install" not in mine


def test_bulk_progress_shows_how_the_retried_deliveries_came_out(
    staff_client, mapping, sent, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_RETRY_SCHEDULE = [600]  # a 503 is tried again in ten minutes
    answers = {"ok@example.com": 201, "bad@example.com": 422, "later@example.com": 503}
    for email in answers:
        make(mapping, email=email)
    make(mapping, status="succeeded", email="done@example.com")  # not retried: not counted

    def launch(request):
        email = json.loads(request.content)["name"].removeprefix("Ticket from ")
        code = answers[email]
        body = {"data": {"id": f"run-{code}", "name": "Ticket", "summary": ""}}
        return respx.MockResponse(code, json=body if code == 201 else {"error": "nope"})

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("dashboard:deliveries_bulk_retry"), {"mapping": mapping.pk})
    job = BulkRetry.objects.get()
    with respx.mock(base_url="https://tallyfy.test", assert_all_called=False) as tallyfy:
        tallyfy.get(RUNS).respond(200, json={"data": []})
        tallyfy.post(RUNS).mock(side_effect=launch)
        retries.bulk_retry_step(job.pk)
        for args in sent["retry"]:
            tasks.retry_delivery.run(*args)

    progress = staff_client.get(
        reverse("dashboard:deliveries_bulk", args=[job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()

    assert 'data-outcome="succeeded">1 succeeded' in progress
    assert 'data-outcome="failed">1 failed' in progress
    assert 'data-outcome="retrying">1 still retrying' in progress
    assert 'hx-trigger="every 10s"' in progress  # done, but one is still on its way
