"""The kept directory of Tallyfy members and groups: read once and reused, read afresh once
when a launch names an email that is not among the kept members (HTTP calls counted)."""

import httpx
import pytest
import respx
from django.core.cache import cache

from integrations.directory import directory_for, fetch_directory
from tests.factories import TallyfyConnectionFactory

pytestmark = pytest.mark.django_db

BASE = "https://go.tallyfy.test/api"
SAM = {"id": 7, "email": "sam@acme.example", "first_name": "Sam", "last_name": "Rivera"}
NEW = {"id": 8, "email": "new@acme.example", "first_name": "New", "last_name": "Hire"}


@pytest.fixture(autouse=True)
def isolated(settings):
    settings.TALLYFY_API_BASE_URL = BASE
    # A private in-memory cache: nothing leaks between tests or from other runs.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()  # locmem outlives a test, and connection pks repeat after a rollback


@pytest.fixture
def connection():
    return TallyfyConnectionFactory(external_id="org1")


@pytest.fixture
def tallyfy():
    """Tallyfy whose member list is whatever `tallyfy.members` holds at the time of the call."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.members = [SAM]
        router.users = router.get("/organizations/org1/users").mock(
            side_effect=lambda request: httpx.Response(200, json={"data": list(router.members)})
        )
        router.groups = router.get("/organizations/org1/groups").respond(
            200, json={"data": [{"id": "g1", "name": "Support"}]}
        )
        yield router


def test_it_reads_members_and_groups_once_and_reuses_them(connection, tallyfy):
    first = fetch_directory(connection)
    again = fetch_directory(connection)
    assert [m.email for m in again.members] == ["sam@acme.example"]
    assert [g.name for g in again.groups] == ["Support"]
    assert again == first
    assert (tallyfy.users.call_count, tallyfy.groups.call_count) == (1, 1)


def test_a_known_email_needs_no_fresh_read(connection, tallyfy):
    fetch_directory(connection)
    directory = directory_for(connection, ["SAM@acme.example "])
    assert directory.member_by_email("sam@acme.example").id == 7
    assert tallyfy.users.call_count == 1


def test_an_unknown_email_reads_the_directory_afresh_once(connection, tallyfy):
    fetch_directory(connection)
    tallyfy.members = [SAM, NEW]  # invited after the directory was kept
    directory = directory_for(connection, ["new@acme.example"])
    assert directory.member_by_email("new@acme.example").id == 8
    assert tallyfy.users.call_count == 2
    # The fresh copy is kept: the next launch naming them reads nothing.
    directory_for(connection, ["new@acme.example"])
    assert tallyfy.users.call_count == 2


def test_an_email_nobody_has_costs_one_fresh_read_per_launch_not_a_loop(connection, tallyfy):
    fetch_directory(connection)
    directory = directory_for(connection, ["ghost@acme.example", "", "not-an-email"])
    assert directory.member_by_email("ghost@acme.example") is None
    assert tallyfy.users.call_count == 2


def test_a_reconnect_to_another_organization_never_reuses_the_kept_copy(connection, tallyfy):
    fetch_directory(connection)
    connection.external_id = "org2"
    connection.save()
    other = tallyfy.get("/organizations/org2/users").respond(200, json={"data": []})
    tallyfy.get("/organizations/org2/groups").respond(200, json={"data": []})
    assert fetch_directory(connection).members == ()
    assert other.call_count == 1
