"""Disconnecting a connection that mappings use: refused until each is archived; then the
row stays (their history needs it), disabled with its tokens gone."""

import pytest
from django.urls import reverse

from integrations.connections import NeedsReconnect, connection_call
from integrations.models import AuditEvent, Connection, Delivery, Mapping
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")


@pytest.fixture
def mapping(db, operator):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


def test_disconnect_is_refused_while_a_mapping_that_is_not_archived_uses_it(staff_client, mapping):
    url = reverse("dashboard:disconnect", args=[mapping.tallyfy_connection_id])
    assert "Archive them" in staff_client.get(url).content.decode()

    response = staff_client.post(url)

    assert response.status_code == 409
    html = response.content.decode()
    assert "Not disconnected: nothing was changed." in html and "Support intake" in html
    connection = Connection.objects.get(pk=mapping.tallyfy_connection_id)
    assert connection.status == Connection.Status.ACTIVE and connection.access_token


def test_once_its_mappings_are_archived_the_connection_is_disabled_and_its_tokens_wiped(
    staff_client, operator, mapping, task_queue
):
    [delivery] = pf.ingest(mapping)
    Mapping.objects.filter(pk=mapping.pk).update(status=Mapping.Status.ARCHIVED)
    url = reverse("dashboard:disconnect", args=[mapping.tallyfy_connection_id])
    assert (
        "Only archived mappings use this connection (1)" in staff_client.get(url).content.decode()
    )

    response = staff_client.post(url, follow=True)

    html = response.content.decode()
    assert "Disconnected Tallyfy: Acme Operations. Its tokens were deleted." in html
    assert "stays listed, disabled, for the history of its archived mappings" in html
    assert ">Disconnected</span>" in html
    connection = Connection.objects.get(pk=mapping.tallyfy_connection_id)
    assert connection.status == Connection.Status.DISABLED
    assert connection.access_token == "" and connection.refresh_token == ""
    assert connection.token_hint == ""
    assert Delivery.objects.filter(pk=delivery.pk, mapping=mapping).exists()
    with pytest.raises(NeedsReconnect):  # nothing can call Tallyfy with it any more
        connection_call(connection, lambda c: c.list_templates(per_page=1))
    event = AuditEvent.objects.get(action="connection.disabled")
    assert event.actor == operator
