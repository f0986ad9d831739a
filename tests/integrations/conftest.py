"""Fixtures for the webhook → delivery pipeline tests."""

import pytest

from tests import pipeline_factories as pf


@pytest.fixture
def task_queue(monkeypatch):
    """The `deliver` task goes to an in-process queue instead of the broker."""
    from integrations import tasks

    queue = pf.FakeQueue()
    monkeypatch.setattr(tasks.deliver, "apply_async", queue.apply_async)
    return queue


@pytest.fixture
def clean_cache():
    """Counters and once-per-10-minutes email keys live in the cache: start empty."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
