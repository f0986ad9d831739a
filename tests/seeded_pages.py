"""Every page of the app with something on it: the sandbox vendors connected, a mapping
with a version, a failed delivery and a bulk retry. Used by the role and accessibility
tests, which visit them all. Needs the `sandbox_seeded` fixture (a live server)."""

from __future__ import annotations

from django.urls import reverse

from tests import pipeline_factories as pf


def seed_pages(actor) -> dict[str, str]:
    """{page name: path} for every page a signed-in staff member can open."""
    from integrations.connections import connect_tally_api_key, connect_tallyfy_token
    from integrations.models import BulkRetry, Delivery
    from integrations.sandbox.tally.models import Submission
    from integrations.sandbox.tallyfy import seed as tallyfy_seed

    tally, _ = connect_tally_api_key(pf.TALLY_API_KEY, actor=actor)
    tallyfy, _ = connect_tallyfy_token(pf.TALLYFY_TOKEN, tallyfy_seed.ACME_ID, actor=actor)
    mapping = pf.support_mapping(tally=tally, tallyfy=tallyfy)
    delivery = pf.ingest(mapping)[0]
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED, last_error="Tallyfy said 422: a required field is empty"
    )
    bulk = BulkRetry.objects.create(
        description="Retry failed deliveries", total=1, created_by=actor
    )
    form = pf.SUPPORT_FORM_ID
    submission = Submission.objects.filter(form_id=form).order_by("pk").first()
    at_form = [tally.pk, form]
    return {
        "overview": reverse("dashboard:overview"),
        "connections": reverse("dashboard:connections"),
        "forms": reverse("dashboard:forms"),
        "form questions": reverse("dashboard:form_questions", args=at_form),
        "form submissions": reverse("dashboard:form_submissions", args=at_form),
        "form analytics": reverse("dashboard:form_analytics", args=at_form),
        "submission": reverse("dashboard:submission", args=[*at_form, submission.public_id]),
        "mappings": reverse("dashboard:mappings"),
        "new mapping": reverse("dashboard:mapping_new"),
        "mapping": reverse("dashboard:mapping_detail", args=[mapping.pk]),
        "builder": reverse("dashboard:mapping_edit", args=[mapping.pk]),
        "preview": reverse("dashboard:mapping_preview", args=[mapping.pk]),
        "tally log": reverse("dashboard:mapping_tally_log", args=[mapping.pk]),
        "deliveries": reverse("dashboard:deliveries"),
        "delivery": reverse("dashboard:delivery_detail", args=[delivery.pk]),
        "retry all": reverse("dashboard:deliveries_bulk_retry") + "?status=failed",
        "recover": reverse("dashboard:deliveries_recover"),
        "bulk retry": reverse("dashboard:deliveries_bulk", args=[bulk.pk]),
        "users": reverse("dashboard:users"),
    }
