"""The builder reads every documented shape of a form: REST questions with or without ids,
options in the blocks or not, and the fields its stored webhook bodies show; "Listen for a
test submission" gets one before enabling, and launches nothing."""

from datetime import timedelta

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from integrations import contract
from integrations.models import Delivery, Endpoint, Mapping, Submission
from integrations.sandbox.tally import switches

from .helpers import SUPPORT_FORM, builder_post, field_id, webhooks

pytestmark = pytest.mark.django_db(transaction=True)

CATEGORY = "field:question_Lz6wYf"
EMAIL = "field:question_Ky5vXe"
OPTIONS_UNKNOWN = "Options unknown — submit the form once, or set a constant"


def priority_row(staff_client, mapping, seed, source):
    """The builder's Priority row (a Tallyfy radio) as it re-renders after choosing `source`."""
    priority = field_id(seed, "priority")
    url = reverse("dashboard:mapping_edit_row", args=[mapping.pk, priority])
    return staff_client.post(
        url, {f"f-{priority}-source": source}, HTTP_HX_REQUEST="true"
    ).content.decode()


def open_builder(staff_client, mapping):
    return staff_client.get(reverse("dashboard:mapping_edit", args=[mapping.pk])).content.decode()


def submit_in_tally(live_kickoff, answers):
    response = httpx.post(
        f"{live_kickoff}/sandbox/tally/control/forms/{SUPPORT_FORM}/submissions",
        json={"answers": answers},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


SUPPORT_ANSWERS = {
    "Ky5vXe": "ada@example.com",
    "Lz6wYf": "8de2b1d2-9eaf-4a67-9c8d-9eafb0c1d2e9",
    "Nb8yAh": "The export button does nothing.",
}


@pytest.mark.parametrize(
    ("shape", "blocks", "offered", "options"),
    [
        ("fields", "with", True, True),
        ("fields", "without", True, False),
        ("uuid", "with", False, False),
        ("uuid", "without", False, False),
    ],
)
def test_before_any_submission_the_builder_offers_what_the_rest_shapes_give(
    staff_client, support_mapping, vendors, shape, blocks, offered, options
):
    tally, _, seed = vendors
    switches.flip("questions_shape", shape)
    switches.flip("block_options", blocks)
    html = open_builder(staff_client, support_mapping)
    assert ("Category · MULTIPLE_CHOICE" in html) is offered
    row = priority_row(staff_client, support_mapping, seed, CATEGORY)
    if not offered:
        assert "not offered" in row or "Select a valid choice" in row
        assert "Fits" not in row
    elif options:
        assert "Billing" in row and OPTIONS_UNKNOWN not in row
    else:
        # Never "Fits" on a guess: nothing names the options yet.
        assert OPTIONS_UNKNOWN in row and "Fits" not in row and "Billing" not in row
    # What the read showed is recorded on the Tally connection.
    assert contract.check_state(tally, contract.QUESTION_IDS) == (
        "verified" if shape == "fields" else "failed"
    )
    assert contract.check_state(tally, contract.BLOCK_OPTIONS) == (
        "verified" if blocks == "with" else "failed"
    )


@pytest.mark.parametrize("shape", ["fields", "uuid"])
@pytest.mark.parametrize("blocks", ["with", "without"])
def test_after_a_submission_the_builder_offers_its_fields_and_options_in_every_variant(
    staff_client, support_mapping, vendors, live_kickoff, shape, blocks
):
    _, _, seed = vendors
    switches.flip("questions_shape", shape)
    switches.flip("block_options", blocks)
    staff_client.post(reverse("dashboard:mapping_listen", args=[support_mapping.pk]))
    submit_in_tally(live_kickoff, SUPPORT_ANSWERS)

    html = open_builder(staff_client, support_mapping)
    assert "Category · MULTIPLE_CHOICE" in html
    assert "Your email · INPUT_EMAIL" in html
    learned = html.split('id="learned"')[1].split("</table>")[0]
    assert "ada@example.com" in learned and "Billing, Bug, Question" in learned
    row = priority_row(staff_client, support_mapping, seed, CATEGORY)
    assert "Billing" in row and "Question" in row and OPTIONS_UNKNOWN not in row


def test_an_options_unknown_row_blocks_enabling_with_its_reason(
    staff_client, support_mapping, vendors, live_kickoff
):
    _, _, seed = vendors
    switches.flip("block_options", "without")
    open_builder(staff_client, support_mapping)
    edit = reverse("dashboard:mapping_edit", args=[support_mapping.pk])
    response = staff_client.post(
        edit, builder_post(seed, requester_email=EMAIL, priority=CATEGORY), follow=True
    )
    page = response.content.decode()
    assert "Saved version 1. It cannot be enabled yet: Priority: " + OPTIONS_UNKNOWN in page

    builder = open_builder(staff_client, support_mapping)
    row = builder.split(f'id="row-{field_id(seed, "priority")}"')[1].split("</tr>")[0]
    assert OPTIONS_UNKNOWN in row and "Fits" not in row

    preview = staff_client.get(reverse("dashboard:mapping_preview", args=[support_mapping.pk]))
    assert OPTIONS_UNKNOWN in preview.content.decode()

    response = staff_client.post(
        reverse("dashboard:mapping_enable", args=[support_mapping.pk]), follow=True
    )
    assert "Cannot enable: Priority: " + OPTIONS_UNKNOWN in response.content.decode()
    support_mapping.refresh_from_db()
    assert support_mapping.status == Mapping.Status.DRAFT
    assert webhooks(live_kickoff) == []

    # A constant instead: nothing is guessed, and it can be enabled.
    priority = field_id(seed, "priority")
    data = builder_post(seed, requester_email=EMAIL, priority="constant")
    data[f"f-{priority}-constant"] = "Normal"
    staff_client.post(edit, data)
    assert (
        "Cannot enable"
        not in staff_client.post(
            reverse("dashboard:mapping_enable", args=[support_mapping.pk]), follow=True
        ).content.decode()
    )
    support_mapping.refresh_from_db()
    assert support_mapping.status == Mapping.Status.ENABLED


def test_listening_stores_a_test_submission_launches_nothing_and_teaches_the_builder(
    staff_client, support_mapping, vendors, live_kickoff, task_queue
):
    _, _, seed = vendors
    # The hardest variant: no question ids, no options in the blocks.
    switches.flip("questions_shape", "uuid")
    switches.flip("block_options", "without")
    before = open_builder(staff_client, support_mapping)
    assert "Your email · INPUT_EMAIL" not in before
    assert "Listen for a test submission" in before

    response = staff_client.post(
        reverse("dashboard:mapping_listen", args=[support_mapping.pk]), follow=True
    )
    endpoint = Endpoint.objects.get(form_id=SUPPORT_FORM)
    assert endpoint.listening_until > timezone.now() + timedelta(minutes=29)
    until = timezone.localtime(endpoint.listening_until)
    assert f"Listening until {until:%H:%M} — submit the form in Tally" in (
        response.content.decode()
    )
    hooks = webhooks(live_kickoff)
    assert len(hooks) == 1 and hooks[0]["url"].endswith(f"/hooks/tally/{endpoint.key}/")

    submit_in_tally(live_kickoff, SUPPORT_ANSWERS)
    assert Submission.objects.filter(form_id=SUPPORT_FORM).count() == 1
    assert Delivery.objects.count() == 0 and task_queue.sent == []

    status = staff_client.get(
        reverse("dashboard:mapping_listen_status", args=[support_mapping.pk]) + "?shown=0",
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "1 submission received." in status and "Show the fields that arrived" in status

    after = open_builder(staff_client, support_mapping)
    assert "Your email · INPUT_EMAIL" in after and "ada@example.com" in after

    # Saved and enabled from what was learned: the webhook is reused, and what arrived
    # while listening is still not launched.
    edit = reverse("dashboard:mapping_edit", args=[support_mapping.pk])
    staff_client.post(edit, builder_post(seed, requester_email=EMAIL))
    response = staff_client.post(
        reverse("dashboard:mapping_enable", args=[support_mapping.pk]), follow=True
    )
    assert "Enabled" in response.content.decode(), response.content.decode()[:3000]
    assert len(webhooks(live_kickoff)) == 1
    assert Delivery.objects.count() == 0 and task_queue.sent == []


def test_stop_listening_removes_the_webhook_of_a_form_with_nothing_enabled(
    staff_client, support_mapping, vendors, live_kickoff
):
    staff_client.post(reverse("dashboard:mapping_listen", args=[support_mapping.pk]))
    assert len(webhooks(live_kickoff)) == 1
    response = staff_client.post(
        reverse("dashboard:mapping_listen_stop", args=[support_mapping.pk]), follow=True
    )
    assert "Stopped listening." in response.content.decode()
    assert webhooks(live_kickoff) == []
    endpoint = Endpoint.objects.get(form_id=SUPPORT_FORM)
    assert endpoint.listening_until is None and endpoint.tally_webhook_id == ""
    assert "Listen for a test submission" in open_builder(staff_client, support_mapping)


def test_viewers_cannot_listen(client, viewer, support_mapping, live_kickoff):
    client.force_login(viewer)
    response = client.post(reverse("dashboard:mapping_listen", args=[support_mapping.pk]))
    assert response.status_code == 403
    assert webhooks(live_kickoff) == []
    assert not Endpoint.objects.exists()


def test_when_listening_runs_out_the_webhook_stays_and_still_launches_nothing(
    staff_client, support_mapping, vendors, live_kickoff, task_queue
):
    staff_client.post(reverse("dashboard:mapping_listen", args=[support_mapping.pk]))
    Endpoint.objects.update(listening_until=timezone.now() - timedelta(seconds=1))
    status = staff_client.get(
        reverse("dashboard:mapping_listen_status", args=[support_mapping.pk]),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Listening until" not in status and "Listen for a test submission" in status
    assert "every 3s" not in status  # the builder stops polling
    assert len(webhooks(live_kickoff)) == 1

    submit_in_tally(live_kickoff, SUPPORT_ANSWERS)
    assert Submission.objects.filter(form_id=SUPPORT_FORM).count() == 1
    assert Delivery.objects.count() == 0 and task_queue.sent == []


def test_the_preview_reads_a_stored_submission_when_questions_come_without_ids(
    staff_client, support_mapping, vendors, live_kickoff
):
    _, _, seed = vendors
    switches.flip("questions_shape", "uuid")
    staff_client.post(reverse("dashboard:mapping_listen", args=[support_mapping.pk]))
    submit_in_tally(live_kickoff, SUPPORT_ANSWERS)
    open_builder(staff_client, support_mapping)
    staff_client.post(
        reverse("dashboard:mapping_edit", args=[support_mapping.pk]),
        builder_post(seed, requester_email=EMAIL),
    )
    preview = staff_client.get(
        reverse("dashboard:mapping_preview", args=[support_mapping.pk])
    ).content.decode()
    assert "ada@example.com" in preview
    assert "Requester email is required" not in preview
