"""Archiving a mapping and restoring it, as an operator sees it; Tally and Tallyfy faked at
the HTTP boundary (respx)."""

import httpx
import pytest
import respx
from django.urls import reverse

from integrations import delivery as service
from integrations.models import (
    AuditEvent,
    Delivery,
    Endpoint,
    FieldMapping,
    Mapping,
    MappingVersion,
)
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")

HOOK = "wh_support"


@pytest.fixture
def tally(settings):
    with respx.mock(base_url=settings.TALLY_API_BASE_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def mapping(db, operator):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


@pytest.fixture
def registered(mapping):
    """The form's webhook is registered in Tally."""
    return pf.endpoint_for(mapping, webhook_id=HOOK)


def second_mapping(mapping, **kw):
    return Mapping.objects.create(
        name="Second",
        tally_connection=mapping.tally_connection,
        form_id=mapping.form_id,
        tallyfy_connection=mapping.tallyfy_connection,
        template_id=mapping.template_id,
        current_version=mapping.current_version,
        **kw,
    )


def archive(client, mapping):
    return client.post(reverse("dashboard:mapping_archive", args=[mapping.pk]), follow=True)


def detail(client, mapping):
    url = reverse("dashboard:mapping_detail", args=[mapping.pk])
    return client.get(url, {"check": "no"}).content.decode()


def test_archive_says_what_happens_then_deletes_the_webhook_and_keeps_the_deliveries(
    staff_client, operator, mapping, registered, tally, task_queue
):
    [delivery] = pf.ingest(mapping)
    deleted = tally.delete(f"/webhooks/{HOOK}").respond(204)

    page = staff_client.get(reverse("dashboard:mapping_archive", args=[mapping.pk]))
    plan = page.content.decode()
    assert "Kickoff deletes the form's webhook in Tally" in plan
    assert "Its 1 delivery stays in history" in plan
    assert deleted.call_count == 0  # asking changes nothing

    response = archive(staff_client, mapping)

    html = response.content.decode()
    assert "Archived Support intake → triage. Its Tally webhook was deleted." in html
    assert "Its 1 delivery stays in history." in html
    assert "Archived on" in html and ">Restore</button>" in html
    assert deleted.call_count == 1
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.ARCHIVED and mapping.archived_at is not None
    assert Endpoint.objects.get().tally_webhook_id == ""
    assert Delivery.objects.filter(pk=delivery.pk, mapping=mapping).exists()
    event = AuditEvent.objects.get(action="mapping.archived")
    assert event.actor == operator and event.data["webhook"] == "deleted"


def test_the_webhook_stays_while_another_enabled_mapping_of_the_form_uses_it(
    staff_client, mapping, registered, tally
):
    second_mapping(mapping, status=Mapping.Status.ENABLED)
    deleted = tally.delete(f"/webhooks/{HOOK}").respond(204)

    plan = staff_client.get(reverse("dashboard:mapping_archive", args=[mapping.pk]))
    assert "The form's webhook in Tally stays: “Second” still uses it." in plan.content.decode()
    html = archive(staff_client, mapping).content.decode()

    assert "The Tally webhook stays: “Second” still uses it." in html
    assert deleted.call_count == 0
    assert Endpoint.objects.get().tally_webhook_id == HOOK
    assert "Remove the webhook" not in html


def test_when_tally_is_down_the_mapping_is_archived_and_the_webhook_removal_can_be_retried(
    staff_client, mapping, registered, tally
):
    route = tally.delete(f"/webhooks/{HOOK}")
    route.side_effect = [httpx.Response(503), httpx.Response(204)]

    html = archive(staff_client, mapping).content.decode()

    assert "but Tally would not delete the form&#x27;s webhook" in html
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.ARCHIVED
    assert Endpoint.objects.get().tally_webhook_id == HOOK  # still known, to remove later
    assert "The form's webhook is still registered in Tally" in html
    assert "Remove the webhook</button>" in html

    html = archive(staff_client, mapping).content.decode()

    assert "Removed the form&#x27;s webhook from Tally." in html
    assert route.call_count == 2
    assert Endpoint.objects.get().tally_webhook_id == ""
    assert "Remove the webhook</button>" not in detail(staff_client, mapping)
    assert AuditEvent.objects.filter(action="mapping.webhook_removed").count() == 1


def test_an_archived_mapping_cannot_be_changed_and_restore_brings_it_back_switched_off(
    staff_client, mapping, tally
):
    archive(staff_client, mapping)

    for name, verb in (
        ("mapping_enable", "enabled"),
        ("mapping_disable", "disabled"),
        ("mapping_test_launch", "test-launched"),
        ("mapping_listen", "edited"),
    ):
        html = staff_client.post(
            reverse(f"dashboard:{name}", args=[mapping.pk]), follow=True
        ).content.decode()
        assert f"is archived and cannot be {verb}. Restore it first." in html, name
    edit = staff_client.get(reverse("dashboard:mapping_edit", args=[mapping.pk]), follow=True)
    assert "is archived and cannot be edited" in edit.content.decode()
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.ARCHIVED
    assert len(tally.calls) == 0

    staff_client.post(reverse("dashboard:mapping_restore", args=[mapping.pk]))

    assert "It is switched off: enable it to launch again." in detail(staff_client, mapping)
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.DISABLED and mapping.archived_at is None
    assert len(tally.calls) == 0  # no webhook until it is enabled
    assert not Endpoint.objects.exists()


def test_a_viewer_can_neither_archive_nor_restore(client, viewer, mapping):
    client.force_login(viewer)
    assert client.post(reverse("dashboard:mapping_archive", args=[mapping.pk])).status_code == 403
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.ENABLED
    Mapping.objects.filter(pk=mapping.pk).update(status=Mapping.Status.ARCHIVED)
    assert client.post(reverse("dashboard:mapping_restore", args=[mapping.pk])).status_code == 403
    assert Mapping.objects.get(pk=mapping.pk).status == Mapping.Status.ARCHIVED


def test_the_list_hides_archived_mappings_behind_a_toggle(staff_client, mapping):
    second_mapping(mapping)
    archive(staff_client, mapping)

    html = staff_client.get(reverse("dashboard:mappings")).content.decode()
    assert "Second" in html and "Support intake → triage" not in html
    assert "Show archived (1)" in html

    html = staff_client.get(reverse("dashboard:mappings"), {"archived": "1"}).content.decode()
    assert "Support intake → triage" in html and "Hide archived" in html


def test_an_in_flight_delivery_of_an_archived_mapping_still_launches(
    settings, staff_client, mapping, tally, task_queue
):
    settings.TALLYFY_API_BASE_URL = "https://tallyfy.test/api"
    [delivery] = pf.ingest(mapping)
    archive(staff_client, mapping)

    run = {"data": {"id": "run-7", "name": "Ticket", "checklist_id": pf.SUPPORT_TRIAGE_ID}}
    with respx.mock(base_url="https://tallyfy.test", assert_all_called=False) as tallyfy:
        runs = f"/api/organizations/{pf.ACME_ID}/runs"
        tallyfy.get(runs).respond(200, json={"data": []})
        tallyfy.get(f"{runs}/run-7").respond(200, json=run)
        tallyfy.post(runs).respond(201, json=run)
        done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.SUCCEEDED and done.run_id == "run-7"


def test_the_detail_counts_only_the_fields_that_have_a_rule(staff_client, db):
    mapping = pf.support_mapping(
        tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection(), status="draft"
    )
    fields = [
        {**pf.TRIAGE_FIELDS[0], "id": f"f{i}", "label": f"Field {i}", "position": i}
        for i in range(9)
    ]
    version = MappingVersion.objects.create(
        mapping=mapping, number=2, name_template="T", template_fields=fields, form_questions=[]
    )
    FieldMapping.objects.bulk_create(
        FieldMapping(
            version=version,
            target_field_id=f["id"],
            target_label=f["label"],
            target_type="text",
            source={0: "constant", 1: "template"}.get(i, FieldMapping.Source.NONE),
            constant="x" if i == 0 else None,
            template="{submission_id}" if i == 1 else "",
        )
        for i, f in enumerate(fields)
    )
    Mapping.objects.filter(pk=mapping.pk).update(current_version=version)

    assert "2 of 9 kick-off fields have a rule" in detail(staff_client, mapping)
