"""Viewers look at every page without meeting a button, link or form they may not use."""

import re
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve

from tests.seeded_pages import seed_pages

# Pages only operators open: a viewer is refused them (test_access.py walks every one).
OPERATOR_PAGES = {"new mapping", "builder", "users"}
TARGET = re.compile(r'\b(?:href|action|hx-post|hx-get|hx-put|hx-delete)="([^"]+)"')


def _operator_only_targets(html: str) -> list[str]:
    found = []
    for target in TARGET.findall(html):
        path = urlsplit(target.replace("&amp;", "&")).path
        if not path.startswith("/"):
            continue
        try:
            match = resolve(path)
        except Resolver404:
            continue
        if getattr(match.func, "operators_only", False):
            found.append(target)
    return found


@pytest.fixture
def pages(sandbox_seeded, operator):
    return seed_pages(operator)


def test_viewers_meet_no_action_they_cannot_take_on_any_page(client, viewer, pages):
    client.force_login(viewer)
    for name, path in pages.items():
        response = client.get(path)
        if name in OPERATOR_PAGES:
            assert response.status_code == 403, name
            continue
        assert response.status_code == 200, (name, response.status_code)
        html = response.content.decode()
        assert _operator_only_targets(html) == [], name
        # The one form that posts on every page is signing out.
        posts = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html)
        assert set(posts) <= {"/logout/"}, (name, posts)


def test_operators_do_see_the_actions_the_check_looks_for(client, operator, pages):
    """The check above can fail: the same pages show an operator what a viewer must not see."""
    client.force_login(operator)
    seen = {
        name: _operator_only_targets(client.get(pages[name]).content.decode())
        for name in ("connections", "mappings", "mapping", "delivery")
    }
    assert all(seen.values()), seen
