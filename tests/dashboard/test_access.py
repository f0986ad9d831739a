"""Every dashboard page is for signed-in staff only: walk the whole URL conf to prove it."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Reachable without signing in, on purpose: probes, auth pages, the vendor sandbox (a
# stand-in for Tally/Tallyfy, which have their own auth), and the webhook receiver
# (authenticated by its signature).
PUBLIC_PREFIXES = (
    "healthz",
    "readyz",
    "metrics",  # bearer-token protected, for Prometheus
    "login/",
    "logout/",
    "sandbox/",
    "hooks/",
    "admin/",
)


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def _example_path(route: str) -> str:
    """Turn a route like 'forms/<str:form_id>/' into a concrete path."""
    import re

    path = re.sub(r"<int:[^>]+>", "1", route)
    path = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000000", path)
    path = re.sub(r"<[^>]+>", "x", path)
    return "/" + path.lstrip("^").rstrip("$")


def dashboard_paths():
    return sorted(
        {
            _example_path(route)
            for route, _ in _walk(get_resolver().url_patterns)
            if not route.startswith(PUBLIC_PREFIXES)
        }
    )


def test_the_walk_finds_the_dashboard_sections():
    paths = dashboard_paths()
    for section in ("/", "/connections/", "/forms/", "/mappings/", "/deliveries/"):
        assert section in paths


@pytest.mark.django_db
@pytest.mark.parametrize("path", dashboard_paths())
def test_anonymous_users_are_sent_to_login(client, path):
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("login")), path


@pytest.mark.django_db
@pytest.mark.parametrize("path", dashboard_paths())
def test_signed_in_non_staff_users_are_refused(client, outsider, path):
    client.force_login(outsider)
    for method in (client.get, client.post):
        assert method(path).status_code == 403, path


@pytest.mark.django_db
def test_staff_see_every_section_in_the_navigation(staff_client):
    response = staff_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Overview", "Connections", "Forms", "Mappings", "Deliveries"):
        assert f">{label}</a>" in html


@pytest.mark.django_db
def test_login_page_signs_staff_in_and_out(client, operator):
    response = client.post(
        reverse("login"), {"username": "olivia", "password": "operator-pass-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert b"olivia" in response.content
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")


@pytest.mark.django_db
def test_a_wrong_password_says_so_and_signs_nobody_in(client, operator):
    response = client.post(reverse("login"), {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_htmx_posts_carry_the_csrf_token_in_hx_headers(staff_client):
    html = staff_client.get("/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "django_htmx/htmx-2.min.js" in html  # served locally, no CDN


@pytest.mark.django_db
def test_the_overview_shows_what_is_left_to_set_up(staff_client):
    from tests.factories import ConnectionFactory

    ConnectionFactory(label="ada@example.com")
    html = staff_client.get("/").content.decode()
    assert "Tally: ada@example.com" in html
    assert html.count(">Done</span>") == 1  # Tally connected; Tallyfy and a mapping to do
    assert html.count(">To do</span>") == 2


def _operator_only_paths():
    """Every URL whose view is for Operators only, with example arguments."""
    out = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if getattr(pattern.callback, "operators_only", False):
            out.append(_example_path(route))
    return sorted(set(out))


def test_the_walk_finds_the_operator_only_views():
    paths = _operator_only_paths()
    assert "/connections/x/connect/" in paths
    assert "/mappings/new/" in paths
    assert "/mappings/1/enable/" in paths


@pytest.mark.django_db
@pytest.mark.parametrize("path", _operator_only_paths())
def test_viewers_may_look_but_not_change_anything(client, viewer, path):
    client.force_login(viewer)
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code in (403, 405), (path, response.status_code)


@pytest.mark.django_db
def test_viewers_see_pages_without_the_buttons_that_change_things(client, viewer):
    client.force_login(viewer)
    html = client.get(reverse("dashboard:connections")).content.decode()
    assert "Connected accounts" in html
    assert "Connect Tally</button>" not in html
    assert client.get(reverse("dashboard:mappings")).status_code == 200


@pytest.mark.django_db
def test_the_admin_manages_users_and_roles_but_shows_no_secrets(admin_client):
    assert admin_client.get("/admin/auth/group/").status_code == 200
    html = admin_client.get("/admin/").content.decode()
    assert "Connections" not in html and "Endpoints" not in html
