"""The Overview: delivery health at a glance, and the latest failures with Retry."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Delivery
from tests import pipeline_factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapping():
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


def make_delivery(mapping, n, status, **extra):
    [delivery] = pf.ingest(mapping, pf.envelope(event_id=f"evt-{n}", submission_id=f"s{n}"))
    Delivery.objects.filter(pk=delivery.pk).update(status=status, **extra)
    return delivery


def test_it_counts_the_last_24_hours_and_lists_failures_with_retry(
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
    failures = html[html.index('id="latest-failures"') :]
    assert "Requester email is required" in failures
    assert f'action="/deliveries/{failed.pk}/retry/"' in failures
    spec = json.loads(
        html.split('id="overview-chart-data" type="application/json">')[1].split("<")[0]
    )
    assert sum(spec["series"][0]["data"]) == 2  # succeeded in the last 24 hours
    assert spec["series"][1]["label"] == "Failed" and sum(spec["series"][1]["data"]) == 1


def test_viewers_see_failures_without_retry_buttons(client, viewer, mapping, task_queue):
    make_delivery(mapping, 1, "failed", last_error="boom")
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "boom" in html and "/retry/" not in html


def _metric_values(html):
    import re

    return re.findall(r'class="metric-value[^"]*">(\d+)<', html)
