"""The shell knows the role: the sidebar says it, a refusal is a page of the app with the
reason, and the login page shows the demo account only when the sandbox is on."""

import pytest
from django.urls import reverse

from dashboard.access import OPERATORS_ONLY_MESSAGE, STAFF_ONLY_MESSAGE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "role"),
    [("viewer", "Viewer"), ("operator", "Operator"), ("admin_user", "Administrator")],
)
def test_the_sidebar_says_the_role(client, request, who, role):
    client.force_login(request.getfixturevalue(who))
    html = client.get("/").content.decode()
    assert f'<span class="role-tag" title="Your role in Kickoff">{role}</span>' in html


@pytest.mark.django_db
def test_a_viewer_refused_gets_the_403_page_in_the_shell_with_the_reason(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("dashboard:mapping_new"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Not allowed</h1>" in html
    assert OPERATORS_ONLY_MESSAGE in html
    assert 'aria-label="Main"' in html  # the navigation is there: the way back
    assert "You are signed in as victor (Viewer)." in html


@pytest.mark.django_db
def test_a_non_staff_user_gets_the_reason_and_no_navigation(client, outsider):
    client.force_login(outsider)
    response = client.get("/")
    assert response.status_code == 403
    html = response.content.decode()
    assert STAFF_ONLY_MESSAGE in html
    assert 'aria-label="Main"' not in html
    assert "Sign out to use another account" in html


@pytest.mark.django_db
def test_the_login_page_shows_the_demo_account_with_the_sandbox_on(client, settings):
    settings.SANDBOX = True
    html = client.get(reverse("login")).content.decode()
    assert 'id="demo-login"' in html
    assert "<code>demo</code> with password <code>kickoff-demo</code>" in html


@pytest.mark.django_db
def test_the_login_page_hides_the_demo_account_with_the_sandbox_off(client, settings):
    settings.SANDBOX = False
    html = client.get(reverse("login")).content.decode()
    assert "kickoff-demo" not in html
    assert 'id="demo-login"' not in html


@pytest.mark.django_db
def test_every_page_has_a_skip_link_to_the_content_and_a_favicon(client, viewer):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert '<main class="content" id="main"' in html
    assert 'rel="icon"' in html
    assert client.get("/static/favicon.svg").status_code == 200
