"""The sandbox vendors connected, and a draft mapping of the support form."""

import pytest
from django.urls import reverse

from integrations.connections import connect_tally_api_key, connect_tallyfy_token
from integrations.models import Mapping

from .helpers import SUPPORT_FORM, TALLY_KEY


@pytest.fixture
def vendors(sandbox_seeded, operator, live_kickoff):
    from integrations.sandbox.tallyfy import seed

    tally, _ = connect_tally_api_key(TALLY_KEY, actor=operator)
    tallyfy, _ = connect_tallyfy_token("tallyfy-sandbox-demo-token", seed.ACME_ID, actor=operator)
    return tally, tallyfy, seed


@pytest.fixture
def support_mapping(staff_client, vendors):
    tally, tallyfy, seed = vendors
    response = staff_client.post(
        reverse("dashboard:mapping_new") + f"?tallyfy={tallyfy.pk}",
        {"tally_form": f"{tally.pk}:{SUPPORT_FORM}", "tallyfy_template": seed.SUPPORT_TRIAGE_ID},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Mapping.objects.get()
