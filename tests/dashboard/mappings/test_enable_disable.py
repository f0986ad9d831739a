"""Enable and Disable say what they do: Disable confirms its consequence first; enabling a
mapping that was switched off asks whether to launch or skip what arrived meanwhile, and
reconcile then does just that. Against the sandbox vendors over HTTP."""

import pytest
from django.urls import reverse

from integrations import reconcile
from integrations.mappings import mapping_enable
from integrations.models import Delivery, Endpoint, Mapping
from tests import pipeline_factories as pf
from tests.integrations.test_reconcile_sandbox import prerun_emails, submit, tally_webhooks

pytestmark = pytest.mark.usefixtures("clean_cache")


@pytest.fixture
def sandbox(sandbox_seeded, live_kickoff, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    return live_kickoff


@pytest.fixture
def mapping(sandbox):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    mapping_enable(mapping, actor=None)
    return mapping


def page(client, name, mapping):
    return client.get(reverse(f"dashboard:{name}", args=[mapping.pk])).content.decode()


def switched_off_with_one_missed(client, sandbox, mapping):
    """Disable through the page, then one submission arrives while it is off."""
    client.post(reverse("dashboard:mapping_disable", args=[mapping.pk]))
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.DISABLED
    return submit(sandbox, "while-off@example.com", deliver=False)


def test_disable_asks_first_and_says_what_it_stops(sandbox, mapping, staff_client):
    detail = page(staff_client, "mapping_detail", mapping)
    assert 'href="{}"'.format(reverse("dashboard:mapping_disable", args=[mapping.pk])) in detail

    confirm = page(staff_client, "mapping_disable", mapping)
    assert "New submissions of Support intake stop launching processes" in confirm
    assert "Kickoff removes the form's webhook in Tally" in confirm
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.ENABLED  # looking changed nothing
    assert len(tally_webhooks(sandbox)) == 1

    response = staff_client.post(
        reverse("dashboard:mapping_disable", args=[mapping.pk]), follow=True
    )
    assert "launch nothing until it is enabled again" in response.content.decode()
    assert tally_webhooks(sandbox) == []


def test_re_enabling_offers_launch_or_skip_with_the_count(
    sandbox, mapping, staff_client, task_queue
):
    switched_off_with_one_missed(staff_client, sandbox, mapping)

    confirm = page(staff_client, "mapping_enable", mapping)
    assert "1 completed submission</strong> arrived since" in confirm
    assert 'value="launch"' in confirm and 'value="skip"' in confirm

    # Posting Enable without choosing enables nothing: the choice is asked again.
    response = staff_client.post(reverse("dashboard:mapping_enable", args=[mapping.pk]))
    assert "Choose what to do" in response.content.decode()
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.DISABLED


def test_skip_moves_reconciles_window_so_nothing_missed_launches(
    sandbox, mapping, staff_client, task_queue
):
    switched_off_with_one_missed(staff_client, sandbox, mapping)
    before = Endpoint.objects.get().reconcile_since

    response = staff_client.post(
        reverse("dashboard:mapping_enable", args=[mapping.pk]), {"missed": "skip"}, follow=True
    )
    assert "arrived while it was off are skipped" in response.content.decode()
    mapping.refresh_from_db()
    assert mapping.status == Mapping.Status.ENABLED
    assert Endpoint.objects.get().reconcile_since != before

    assert reconcile.reconcile_mapping(mapping).ingested == 0
    assert reconcile.reconcile_mapping(mapping).ingested == 0  # its overlap re-reads none
    task_queue.drain()
    assert not Delivery.objects.exists()
    # What arrives from now on still launches.
    submit(sandbox, "after@example.com")
    task_queue.drain()
    assert prerun_emails(sandbox) == ["after@example.com"]


def test_launch_leaves_the_window_so_reconcile_launches_what_was_missed(
    sandbox, mapping, staff_client, task_queue
):
    switched_off_with_one_missed(staff_client, sandbox, mapping)
    before = Endpoint.objects.get().reconcile_since

    response = staff_client.post(
        reverse("dashboard:mapping_enable", args=[mapping.pk]), {"missed": "launch"}, follow=True
    )
    assert "launch within 15 minutes" in response.content.decode()
    assert Endpoint.objects.get().reconcile_since == before

    assert reconcile.reconcile_mapping(mapping).ingested == 1
    task_queue.drain()
    assert prerun_emails(sandbox) == ["while-off@example.com"]


def test_when_tally_cannot_be_read_the_page_says_it_could_not_count(
    sandbox, mapping, staff_client, monkeypatch
):
    from integrations.http import ApiError
    from integrations.tally.client import TallyClient

    switched_off_with_one_missed(staff_client, sandbox, mapping)

    def refuse(*args, **kwargs):
        raise ApiError("Tally is down", status=503)

    monkeypatch.setattr(TallyClient, "list_submissions", refuse)
    confirm = page(staff_client, "mapping_enable", mapping)
    assert "Kickoff could not count the submissions that arrived since" in confirm
    assert 'value="skip"' in confirm  # the choice is still the operator's
