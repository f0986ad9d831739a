"""Reconcile and webhook presence over real HTTP against the sandbox Tally, in each of its
variants: `afterId` newer or older, answers under `answer` or `value`, an event log that
answers 404, and a webhook deleted or disabled in Tally's Integrations tab."""

import httpx
import pytest
from django.urls import reverse

from integrations import contract, reconcile
from integrations.mappings import mapping_enable
from integrations.models import AuditEvent, Delivery, Endpoint, Submission
from integrations.tasks import check_webhooks
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")


@pytest.fixture
def sandbox(sandbox_seeded, live_kickoff, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    return live_kickoff


@pytest.fixture
def mapping(sandbox):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    mapping_enable(mapping, actor=None)  # registers the signed webhook at the sandbox Tally
    return mapping


def submit(base, email="ria@example.com", *, deliver=True):
    response = httpx.post(
        f"{base}/sandbox/tally/control/forms/{pf.SUPPORT_FORM_ID}/submissions",
        json={
            "answers": {"Your email": email, "Category": "Bug", "Describe the problem": "Broken"},
            "deliver": deliver,
        },
        timeout=20,
    )
    response.raise_for_status()
    return response.json()


def tally_switch(base, **values):
    httpx.post(f"{base}/sandbox/tally/control/switches", json=values).raise_for_status()


def tally_webhooks(base):
    return httpx.get(
        f"{base}/sandbox/tally/api/webhooks",
        headers={"Authorization": f"Bearer {pf.TALLY_API_KEY}"},
    ).json()["webhooks"]


def prerun_emails(base):
    data = httpx.get(f"{base}/sandbox/tallyfy/control/runs", timeout=20).json()["data"]
    return sorted(r["prerun"][pf.triage_field_id("requester_email")] for r in data)


# --- Reconcile, whatever afterId means and whatever the answers are called ------------------


@pytest.mark.parametrize("answer_key", ["answer", "value"])
@pytest.mark.parametrize("after_id", ["newer", "older"])
def test_reconcile_recovers_a_submission_whose_webhook_never_came_in_every_variant(
    sandbox, mapping, task_queue, after_id, answer_key
):
    tally_switch(sandbox, after_id=after_id, answer_key=answer_key)
    submit(sandbox, "first@example.com")  # arrives by webhook
    assert reconcile.reconcile_mapping(mapping).ingested == 0  # nothing missing yet

    sent = submit(sandbox, "missed@example.com", deliver=False)  # its webhook never comes
    result = reconcile.reconcile_mapping(mapping)
    task_queue.drain()

    assert result.ingested == 1
    missed = Submission.objects.get(submission_id=sent["submissionId"])
    assert missed.source == Submission.Source.RECONCILE
    assert prerun_emails(sandbox) == ["first@example.com", "missed@example.com"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED}
    assert contract.check_state(mapping.tally_connection, contract.SUBMISSION_WINDOWS) == (
        "verified"
    )


def test_a_cursor_tally_no_longer_knows_does_not_break_reconcile(sandbox, mapping, task_queue):
    gone = submit(sandbox, "deleted@example.com")["submissionId"]
    httpx.delete(
        f"{sandbox}/sandbox/tally/control/forms/{pf.SUPPORT_FORM_ID}/submissions/{gone}"
    ).raise_for_status()
    Endpoint.objects.update(reconcile_after_id=gone)  # what earlier reconciles stored
    sent = submit(sandbox, "missed@example.com", deliver=False)

    assert reconcile.reconcile_mapping(mapping).ingested == 1
    assert Submission.objects.filter(submission_id=sent["submissionId"]).exists()
    assert Endpoint.objects.get().reconcile_after_id == ""


def test_reconcile_catches_up_when_the_event_log_answers_404(sandbox, mapping, task_queue):
    tally_switch(sandbox, webhook_events="missing")
    sent = submit(sandbox, "missed@example.com", deliver=False)

    result = reconcile.reconcile_mapping(mapping)
    task_queue.drain()

    assert result.ingested == 1
    assert Submission.objects.get().submission_id == sent["submissionId"]
    assert prerun_emails(sandbox) == ["missed@example.com"]
    check = contract.check_get(mapping.tally_connection, contract.EVENT_LOG)
    assert check.state == "failed" and check.detail.startswith("Tally answered 404")

    tally_switch(sandbox, webhook_events="listed")
    reconcile.reconcile_mapping(mapping)
    assert contract.check_state(mapping.tally_connection, contract.EVENT_LOG) == "verified"


# --- Webhook presence and Re-register -----------------------------------------------------


def detail(client, mapping):
    return client.get(
        reverse("dashboard:mapping_detail", args=[mapping.pk]) + "?check=no"
    ).content.decode()


def reregister(client, mapping, **headers):
    return client.post(
        reverse("dashboard:mapping_reregister", args=[mapping.pk]), follow=True, **headers
    )


def test_a_webhook_deleted_in_tally_is_found_shown_and_re_registered(
    sandbox, mapping, task_queue, staff_client
):
    endpoint = Endpoint.objects.get()
    [hook] = tally_webhooks(sandbox)
    assert check_webhooks() == {"present": 1}
    assert contract.check_state(mapping.tally_connection, contract.WEBHOOK_PRESENT) == "verified"
    assert "Webhook missing in Tally" not in detail(staff_client, mapping)

    httpx.delete(f"{sandbox}/sandbox/tally/control/webhooks/{hook['id']}").raise_for_status()
    assert submit(sandbox, "lost@example.com")["deliveries"] == []  # Tally sends nothing

    assert check_webhooks() == {"missing": 1}
    assert Endpoint.objects.get().webhook_state == "missing"
    check = contract.check_get(mapping.tally_connection, contract.WEBHOOK_PRESENT)
    assert check.state == "failed"
    assert check.detail == f"Support intake ({pf.SUPPORT_FORM_ID}): webhook missing in Tally"
    page = detail(staff_client, mapping)
    assert "Webhook missing in Tally" in page and "reconcile" in page.lower()
    assert "Re-register" in page
    listing = staff_client.get(reverse("dashboard:mappings")).content.decode()
    assert "Webhook missing" in listing

    response = reregister(staff_client, mapping)
    assert "Registered a new webhook in Tally" in response.content.decode()
    assert "Webhook missing in Tally" not in response.content.decode()
    [new_hook] = tally_webhooks(sandbox)
    assert new_hook["id"] != hook["id"]
    assert new_hook["url"] == hook["url"] and new_hook["isEnabled"]
    assert new_hook["signingSecret"] == endpoint.signing_secret
    assert Endpoint.objects.get().webhook_state == "present"

    # Deliveries are back: the next submission arrives by webhook, signed as before.
    sent = submit(sandbox, "back@example.com")
    assert [d["statusCode"] for d in sent["deliveries"]] == [200]
    task_queue.drain()
    assert Submission.objects.get(submission_id=sent["submissionId"]).source == "webhook"
    assert prerun_emails(sandbox) == ["back@example.com"]

    # A second click changes nothing.
    response = reregister(staff_client, mapping)
    assert "already registered and enabled" in response.content.decode()
    assert len(tally_webhooks(sandbox)) == 1
    assert AuditEvent.objects.filter(action="mapping.webhook_reregistered").count() == 1


def test_a_webhook_disabled_in_tally_is_shown_and_enabled_again(
    sandbox, mapping, task_queue, staff_client
):
    [hook] = tally_webhooks(sandbox)
    httpx.post(
        f"{sandbox}/sandbox/tally/control/webhooks/{hook['id']}", json={"isEnabled": False}
    ).raise_for_status()
    assert submit(sandbox)["deliveries"] == []

    assert check_webhooks() == {"disabled": 1}
    page = detail(staff_client, mapping)
    assert "Webhook disabled in Tally" in page
    assert (
        "disabled in Tally"
        in contract.check_get(mapping.tally_connection, contract.WEBHOOK_PRESENT).detail
    )

    # The button works over HTMX too: the warning is swapped out and a toast says why.
    response = staff_client.post(
        reverse("dashboard:mapping_reregister", args=[mapping.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'id="webhook-state"' in response.content.decode()
    assert "Webhook disabled" not in response.content.decode()
    assert "Enabled the webhook in Tally again" in response.headers["HX-Trigger"]
    [same] = tally_webhooks(sandbox)
    assert same["id"] == hook["id"] and same["isEnabled"]

    sent = submit(sandbox, "back@example.com")
    assert [d["statusCode"] for d in sent["deliveries"]] == [200]
    assert Submission.objects.filter(submission_id=sent["submissionId"]).exists()
    audit = AuditEvent.objects.get(action="mapping.webhook_reregistered")
    assert audit.data["outcome"] == "enabled"


def test_viewers_see_the_warning_but_cannot_re_register(sandbox, mapping, client, viewer):
    [hook] = tally_webhooks(sandbox)
    httpx.delete(f"{sandbox}/sandbox/tally/control/webhooks/{hook['id']}").raise_for_status()
    check_webhooks()
    client.force_login(viewer)

    page = detail(client, mapping)
    assert "Webhook missing in Tally" in page and "An operator can re-register it" in page
    assert (
        client.post(reverse("dashboard:mapping_reregister", args=[mapping.pk])).status_code == 403
    )
    assert tally_webhooks(sandbox) == []
