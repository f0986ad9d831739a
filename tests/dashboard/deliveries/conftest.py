"""Fixtures of the Deliveries pages' tests."""

import pytest

from tests import pipeline_factories as pf


@pytest.fixture
def sent(monkeypatch):
    """Tasks the views enqueue, instead of the broker."""
    from integrations import tasks

    queue = {"deliver": [], "retry": [], "step": []}
    monkeypatch.setattr(
        tasks.deliver, "apply_async", lambda args=(), **kw: queue["deliver"].append(args)
    )
    monkeypatch.setattr(
        tasks.retry_delivery,
        "apply_async",
        lambda args=(), **kw: queue["retry"].append(args),
    )
    monkeypatch.setattr(
        tasks.bulk_retry_step,
        "apply_async",
        lambda args=(), **kw: queue["step"].append(args),
    )
    return queue


@pytest.fixture
def mapping(db, sent):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
