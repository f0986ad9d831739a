"""A flood of forged webhooks is counted exactly but costs no database write and no log line
of its own (issue: abuse budget)."""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations import metrics
from integrations.models import Endpoint
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")


@pytest.fixture
def endpoint(db):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    return pf.endpoint_for(mapping)


def forge(client, endpoint):
    body = pf.body_of(pf.envelope())
    return client.post(
        f"/hooks/tally/{endpoint.key}/",
        data=body,
        content_type="application/json",
        headers=pf.signed_headers("whsec-forged", body),
    )


def test_two_hundred_forgeries_write_once_log_once_and_count_every_one(
    client, endpoint, caplog, abuse_samplers, monkeypatch
):
    now = [500.0]
    monkeypatch.setattr(abuse_samplers.signature_writes, "clock", lambda: now[0])
    monkeypatch.setattr(abuse_samplers.rejection_logs, "clock", lambda: now[0])
    caplog.set_level(logging.WARNING, logger="integrations.views")
    with CaptureQueriesContext(connection) as queries:
        answers = {forge(client, endpoint).status_code for _ in range(200)}

    assert answers == {401}
    writes = [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(writes) == 1
    assert len([r for r in caplog.records if "rejected webhook" in r.getMessage()]) == 1
    assert metrics._counter("signature_mismatch") == 200

    # The window passes: the next forgery's write carries the 199 folded into it.
    now[0] += abuse_samplers.SAMPLE_SECONDS
    caplog.clear()
    forge(client, endpoint)
    assert Endpoint.objects.get(pk=endpoint.pk).signature_failures == 201
    [line] = [r.getMessage() for r in caplog.records if "rejected webhook" in r.getMessage()]
    assert "and 199 more like it since the last line" in line
