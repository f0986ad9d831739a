"""Issue #17, finding 6: one permission per kind of action, checked on every URL.

The matrix names what each dashboard URL takes; the walk of the URL conf must match it, so
a new view cannot be added without deciding (and declaring) its check."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import get_resolver

from tests.dashboard.test_access import _example_path, _walk

STAFF = "staff"  # any signed-in staff member
SUPERUSER = "superuser"
CONNECT = "connect_account"
EDIT = "edit_mapping"
SWITCH = "switch_mapping"
RETRY = "retry_delivery"
EXPORT = "export_data"
ACTIONS = (CONNECT, EDIT, SWITCH, RETRY, EXPORT)

#: url name -> (what it takes, for which methods; None = every method)
MATRIX = {
    "overview": (STAFF, None),
    "connections": (STAFF, None),
    "connection_test": (STAFF, None),
    "tally_api_key": (CONNECT, None),
    "tallyfy_token": (CONNECT, None),
    "tallyfy_choose_org": (CONNECT, None),
    "oauth_start": (CONNECT, None),
    "oauth_callback": (CONNECT, None),
    "disconnect": (CONNECT, None),
    "forms": (STAFF, None),
    "form": (STAFF, None),
    "form_latest": (STAFF, None),
    "form_questions": (STAFF, None),
    "form_submissions": (STAFF, None),
    "form_submissions_csv": (EXPORT, None),
    "submission": (STAFF, None),
    "form_analytics": (STAFF, None),
    "mappings": (STAFF, None),
    "mapping_detail": (STAFF, None),
    "mapping_preview": (STAFF, None),
    "mapping_new": (EDIT, None),
    "mapping_edit": (EDIT, None),
    "mapping_edit_row": (EDIT, None),
    "mapping_edit_launch": (EDIT, None),
    "mapping_edit_task": (EDIT, None),
    "mapping_followup_hint": (EDIT, None),
    "mapping_check_placeholders": (EDIT, None),
    "mapping_listen": (EDIT, None),
    "mapping_listen_stop": (EDIT, None),
    "mapping_listen_status": (EDIT, None),
    "mapping_test_launch": (EDIT, None),
    "mapping_check_drift": (EDIT, None),
    "mapping_enable": (SWITCH, None),
    "mapping_disable": (SWITCH, None),
    "mapping_archive": (SWITCH, None),
    "mapping_restore": (SWITCH, None),
    "mapping_reregister": (SWITCH, None),
    "deliveries": (STAFF, None),
    "deliveries_newer": (STAFF, None),
    "deliveries_bulk": (STAFF, None),
    "delivery_detail": (STAFF, None),
    "delivery_row": (STAFF, None),
    "mapping_tally_log": (STAFF, None),
    "deliveries_export": (EXPORT, None),
    "deliveries_retry_selected": (RETRY, None),
    "deliveries_bulk_retry": (RETRY, ("POST",)),
    "deliveries_recover": (RETRY, ("POST",)),
    "deliveries_bulk_cancel": (RETRY, None),
    "delivery_retry": (RETRY, None),
    "delivery_cancel_next": (RETRY, None),
    "delivery_retry_now": (RETRY, None),
    "delivery_use_run": (RETRY, None),
    "delivery_launch_unchecked": (RETRY, None),
    "mapping_tally_redeliver": (RETRY, None),
    "users": (SUPERUSER, None),
    "user_role": (SUPERUSER, None),
}


def _dashboard_routes():
    return {
        pattern.name: _example_path(route)
        for route, pattern in _walk(get_resolver().url_patterns)
        if pattern.lookup_str.startswith("dashboard.")
    }


ROUTES = _dashboard_routes()


def test_every_dashboard_url_is_in_the_matrix():
    assert set(ROUTES) == set(MATRIX)


def _staff(name, codenames):
    user = get_user_model().objects.create_user(name, password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="integrations", codename__in=codenames)
    )
    return user


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_url_takes_exactly_its_permission(client, name):
    rule, methods = MATRIX[name]
    path = ROUTES[name]
    checked = methods or ("GET", "POST")
    if rule == STAFF:
        client.force_login(_staff("plain", []))
        assert client.get(path).status_code != 403, path
        return
    if rule == SUPERUSER:
        client.force_login(_staff("everything", ACTIONS))
        for method in checked:
            assert client.generic(method, path).status_code == 403, (path, method)
        return
    client.force_login(_staff("all-but", [a for a in ACTIONS if a != rule]))
    for method in checked:
        assert client.generic(method, path).status_code == 403, (path, method)
    if methods:  # the rest of the view is for every staff member
        assert client.get(path).status_code != 403, path
    client.force_login(_staff("only", [rule]))
    for method in checked:
        assert client.generic(method, path).status_code != 403, (path, method)


@pytest.mark.django_db
def test_the_two_roles_are_groups_of_the_action_permissions():
    def held(group):
        return set(
            Group.objects.get(name=group)
            .permissions.filter(content_type__app_label="integrations")
            .exclude(codename__startswith="view_")
            .values_list("codename", flat=True)
        )

    assert held("Operators") == set(ACTIONS)
    assert held("Viewers") == {EXPORT}  # viewers may download what they can already see
