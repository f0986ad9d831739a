"""A form's stored webhook bodies, as the builder learns its fields from them."""

import pytest

from integrations.models import Submission
from integrations.selectors.payloads import form_payloads
from integrations.tally.learned import fields_from_payloads
from tests import pipeline_factories as pf

pytestmark = pytest.mark.django_db


def test_the_newest_bodies_of_the_form_are_read_and_a_broken_one_is_skipped():
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    pf.ingest(mapping, pf.envelope(fields=pf.support_fields(email="old@example.com")))
    pf.ingest(mapping, pf.envelope(fields=pf.support_fields(email="new@example.com")))
    # A body that is not JSON (stored verbatim, whatever arrived) and one of another form.
    Submission.objects.filter(pk=Submission.objects.order_by("pk").first().pk).update(
        raw_body=b"\xff not json"
    )
    pf.ingest(mapping, pf.envelope(form_id="other1"))

    payloads = form_payloads(
        tally_connection_id=mapping.tally_connection_id, form_id=mapping.form_id
    )
    learned = fields_from_payloads(payloads)
    assert learned.payloads == 1
    assert learned.sample("question_Ky5vXe") == "new@example.com"
    assert [o.text for o in learned.fields[1].options] == ["Billing", "Bug", "Question"]
