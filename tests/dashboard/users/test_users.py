"""The Users & roles page: superusers give staff their role without /admin/."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from dashboard.access import can_operate
from integrations.models import AuditEvent


@pytest.fixture
def admin(db):
    return get_user_model().objects.create_superuser("ada", "ada@example.com", "admin-pass-123")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def _set(client, person, role):
    url = reverse("dashboard:user_role", args=[person.pk])
    return client.post(url, {"role": role}, follow=True)


@pytest.mark.django_db
def test_the_page_lists_people_with_their_roles(admin_client, operator, viewer):
    html = admin_client.get(reverse("dashboard:users")).content.decode()
    assert "Users &amp; roles" in html
    assert '<option value="operator" selected>' in html.split(f'id="user-{operator.pk}"')[1]
    assert '<option value="viewer" selected>' in html.split(f'id="user-{viewer.pk}"')[1]
    # Superusers find it in the navigation; nobody needs /admin/ for roles.
    assert ">Users &amp; roles</a>" in html


@pytest.mark.django_db
def test_an_admin_makes_a_viewer_an_operator_and_it_is_audited(admin_client, admin, viewer):
    assert not can_operate(viewer)
    response = _set(admin_client, viewer, "operator")
    assert "victor is now: Operator." in response.content.decode()
    viewer = get_user_model().objects.get(pk=viewer.pk)
    assert can_operate(viewer)
    assert list(viewer.groups.values_list("name", flat=True)) == ["Operators"]
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.actor == admin and event.object_id == str(viewer.pk)
    assert event.summary == "ada changed victor's role from Viewer to Operator"
    assert event.data == {"before": "viewer", "after": "operator"}
    # The page shows the change in its history.
    assert "ada changed victor&#x27;s role from Viewer to Operator" in response.content.decode()


@pytest.mark.django_db
def test_no_access_shuts_a_person_out_of_the_dashboard(admin_client, client, operator):
    _set(admin_client, operator, "none")
    operator = get_user_model().objects.get(pk=operator.pk)
    assert not operator.is_staff and not operator.groups.exists()
    client.force_login(operator)
    assert client.get(reverse("dashboard:overview")).status_code == 403


@pytest.mark.django_db
def test_an_admin_can_make_another_admin(admin_client, viewer):
    _set(admin_client, viewer, "admin")
    viewer = get_user_model().objects.get(pk=viewer.pk)
    assert viewer.is_superuser and viewer.is_staff


@pytest.mark.django_db
def test_setting_the_same_role_again_records_nothing(admin_client, viewer):
    response = _set(admin_client, viewer, "viewer")
    assert "victor already was: Viewer." in response.content.decode()
    assert not AuditEvent.objects.filter(action="user.role_changed").exists()


@pytest.mark.django_db
def test_an_admin_cannot_take_away_their_own_rights(admin_client, admin):
    response = _set(admin_client, admin, "viewer")
    assert "You cannot take away your own administrator rights" in response.content.decode()
    admin = get_user_model().objects.get(pk=admin.pk)
    assert admin.is_superuser
    assert not AuditEvent.objects.filter(action="user.role_changed").exists()
    # Their own row offers no role picker to begin with.
    html = admin_client.get(reverse("dashboard:users")).content.decode()
    assert f'id="role-{admin.pk}"' not in html


@pytest.mark.django_db
def test_an_unknown_role_is_refused(admin_client, viewer):
    response = _set(admin_client, viewer, "owner")
    assert "Unknown role" in response.content.decode()
    assert get_user_model().objects.get(pk=viewer.pk).groups.get().name == "Viewers"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_only_superusers_manage_roles(client, request, who, outsider):
    person = request.getfixturevalue(who)
    client.force_login(person)
    response = client.get(reverse("dashboard:users"))
    assert response.status_code == 403
    assert "Only administrators (superusers) manage users and roles." in response.content.decode()
    assert _set(client, outsider, "admin").status_code == 403
    assert not get_user_model().objects.get(pk=outsider.pk).is_superuser
    # And the navigation does not offer it.
    assert ">Users &amp; roles</a>" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_role_change_needs_a_csrf_token(admin, viewer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(reverse("dashboard:user_role", args=[viewer.pk]), {"role": "admin"})
    assert response.status_code == 403
    assert not get_user_model().objects.get(pk=viewer.pk).is_superuser
