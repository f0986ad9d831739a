"""The Overview: delivery health at a glance, failures grouped by cause with View and Retry
these, each mapping's success rate per day, and first steps until they are done."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Delivery, DeliveryAttempt
from tests import pipeline_factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapping():
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


def make_delivery(mapping, n, status, **extra):
    [delivery] = pf.ingest(mapping, pf.envelope(event_id=f"evt-{n}", submission_id=f"s{n}"))
    Delivery.objects.filter(pk=delivery.pk).update(status=status, **extra)
    return delivery


def test_it_counts_the_last_24_hours_and_groups_failures_by_cause(
    staff_client, mapping, task_queue
):
    make_delivery(mapping, 1, "succeeded")
    make_delivery(mapping, 2, "succeeded")
    failed = make_delivery(mapping, 3, "failed", last_error="Requester email is required")
    make_delivery(mapping, 4, "succeeded", created_at=timezone.now() - timedelta(days=2))

    response = staff_client.get("/")
    html = response.content.decode()
    health = html[html.index('id="health"') : html.index("Deliveries per hour")]
    assert [int(v) for v in _metric_values(health)][:3] == [3, 2, 1]
    assert "33.3% of finished" in health
    causes = html[html.index('id="failure-causes"') :]
    assert "1 ×" in causes and "Requester email is required (not sent)" in causes
    assert failed.pk
    spec = json.loads(
        html.split('id="overview-chart-data" type="application/json">')[1].split("<")[0]
    )
    assert sum(spec["series"][0]["data"]) == 2  # succeeded in the last 24 hours
    assert spec["series"][1]["label"] == "Failed" and sum(spec["series"][1]["data"]) == 1


def test_viewers_see_causes_without_retry_these(client, viewer, mapping, task_queue):
    make_delivery(mapping, 1, "failed", last_error="boom")
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "1 ×" in html and "boom" in html and "Retry these" not in html


def _metric_values(html):
    return re.findall(r'class="metric-value[^"]*">(\d+)<', html)


def failed_with(mapping, n, message, status=None, kind=""):
    d = make_delivery(mapping, n, "failed", last_error=message, last_status_code=status)
    if kind:
        DeliveryAttempt.objects.create(
            delivery=d, number=1, outcome="failed", error_kind=kind, error_message=message
        )
    return d


def test_identical_failures_are_one_cause_with_view_and_retry_these(
    staff_client, mapping, task_queue, django_assert_max_num_queries
):
    rejected = "Requester email: The requester email field is required."
    same = [failed_with(mapping, i, rejected, 422, "rejected") for i in range(3)]
    # Ids in the message differ, the cause does not.
    for i in (10, 11):
        failed_with(
            mapping,
            i,
            f"Gave up after 8 tries; Tallyfy has no run carrying “kickoff-a-delivery-{i}”",
            kind="gave_up",
        )
    make_delivery(mapping, 20, "succeeded")

    with django_assert_max_num_queries(18):
        html = staff_client.get("/").content.decode()

    causes = html[html.index('id="failure-causes"') : html.index('id="success-rate"')]
    assert causes.count('class="ov-cause"') == 2
    first = causes.split('class="ov-cause"')[1]
    assert "3 ×" in first and "Tallyfy 422 Requester email is required" in first
    view = re.search(r'href="(/deliveries/\?[^"]+)">View', first)[1].replace("&amp;", "&")
    retry = re.search(r'href="(/deliveries/retry-all/\?[^"]+)"', first)[1].replace("&amp;", "&")

    listed = staff_client.get(view).content.decode()
    shown = {int(pk) for pk in re.findall(r'id="delivery-(\d+)"', listed)}
    assert shown == {d.pk for d in same}
    assert "Only deliveries failing with" in listed

    confirm = staff_client.get(retry).content.decode()
    assert re.search(r"\b3\b", confirm) and "failing with" in confirm


def test_the_success_rate_chart_has_a_line_per_mapping_and_a_table(staff_client, task_queue):
    tally, tallyfy = pf.tally_connection(), pf.tallyfy_connection()
    support = pf.support_mapping(tally=tally, tallyfy=tallyfy, name="Support")
    billing = pf.support_mapping(tally=tally, tallyfy=tallyfy, name="Billing", form_id="billF1")
    for n, status in enumerate(["succeeded", "succeeded", "succeeded", "failed"]):
        make_delivery(support, n, status)
    [b] = pf.ingest(billing, pf.envelope(form_id="billF1", event_id="b1", submission_id="b1"))
    Delivery.objects.filter(pk=b.pk).update(
        status="failed", created_at=timezone.now() - timedelta(days=1)
    )

    html = staff_client.get("/").content.decode()

    spec = json.loads(html.split('id="rate-chart-data" type="application/json">')[1].split("<")[0])
    assert spec["kind"] == "line" and spec["percent"] is True and len(spec["labels"]) == 14
    series = {s["label"]: s["data"] for s in spec["series"]}
    assert series["Support"][-1] == 75.0 and series["Support"][-2] is None
    assert series["Billing"][-2] == 0.0 and series["Billing"][-1] is None
    table = html[html.index('id="rate-table"') :]
    assert "75% <span" in table and "of 4" in table


def test_getting_started_goes_away_once_its_steps_are_done(staff_client, db):
    assert 'id="getting-started"' in staff_client.get("/").content.decode()
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    assert mapping.status == "enabled"
    assert 'id="getting-started"' not in staff_client.get("/").content.decode()
