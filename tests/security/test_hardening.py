"""Issue #17, finding 8: the smaller hardening items, one test each."""

import logging
import re
import time
from datetime import timedelta

import httpx
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from integrations.models import BulkRetry
from tests.dashboard.tally_forms.test_csv import (  # noqa: F401 (fixtures)
    connection,
    empty_cache,
    read_csv,
    tally,
)
from tests.integrations.selectors.test_tally import FORM_ID, submission, submissions_page
from tests.seeded_pages import seed_pages

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_every_page_has_a_csp_and_no_inline_script_or_handler(
    client, operator, admin_user, sandbox_seeded
):
    client.force_login(admin_user)
    for name, path in seed_pages(operator).items():
        response = client.get(path)
        assert response.status_code == 200, name
        policy = response["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy, name
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), (name, INLINE_SCRIPT.search(html))
        assert not INLINE_HANDLER.search(html), (name, INLINE_HANDLER.search(html))


@pytest.mark.django_db
def test_pages_and_exports_for_signed_in_people_are_not_stored(staff_client):
    for path in ("/", reverse("dashboard:deliveries"), reverse("dashboard:deliveries_export")):
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path


def test_a_forms_export_stops_at_tallys_rate_limit_instead_of_sleeping(
    staff_client,
    tally,  # noqa: F811
    connection,  # noqa: F811
    monkeypatch,
):
    from integrations.selectors import tally as tally_selectors

    slept = []
    monkeypatch.setattr(tally_selectors.time, "sleep", slept.append)
    route = tally.get(f"/forms/{FORM_ID}/submissions")
    route.side_effect = [
        httpx.Response(200, json=submissions_page(submission("s1"), has_more=True)),
        httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "60"}),
    ]
    url = reverse("dashboard:form_submissions_csv", args=[connection.pk, FORM_ID])
    rows = read_csv(staff_client.get(url))
    assert rows[1][0] == "s1"
    assert rows[-1][0].startswith("# Export incomplete: Tally is rate-limiting us on page 2")
    assert sum(slept) <= tally_selectors.EXPORT_MAX_WAIT_SECONDS  # not 3 × 30 s


@pytest.mark.django_db
def test_a_half_finished_tallyfy_org_pick_leaves_the_session_after_its_ttl(staff_client):
    from dashboard.connections.views import PENDING_TTL_SECONDS, TALLYFY_ORGS_KEY

    session = staff_client.session
    session[TALLYFY_ORGS_KEY] = {"sealed": "…", "at": time.time() - PENDING_TTL_SECONDS - 1}
    session.save()
    assert staff_client.get(reverse("dashboard:deliveries")).status_code == 200
    assert TALLYFY_ORGS_KEY not in staff_client.session


@pytest.mark.django_db
def test_a_line_break_in_a_vendor_org_name_does_not_lose_the_reconnect_email(operator):
    from integrations.connections import _mark_needs_reconnect
    from tests.factories import TallyfyConnectionFactory

    broken = TallyfyConnectionFactory(label="Acme\nBcc: attacker@example.com")
    _mark_needs_reconnect(broken, "Tallyfy refused the refresh token.")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[Kickoff] ")
    assert "\n" not in mail.outbox[0].subject


def test_oauth_codes_are_masked_in_the_servers_access_log():
    logger = logging.getLogger("django.server")
    record = logger.makeRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /connections/tallyfy/callback/?code=SECRETCODE&state=S7 HTTP/1.1", "302", "0"),
        None,
    )
    assert logger.handlers
    for handler in logger.handlers:
        handler.filter(record)
    line = record.getMessage()
    assert "SECRETCODE" not in line and "S7" not in line
    assert "?code=[redacted]&state=[redacted]" in line


def test_opening_a_mapping_changes_nothing_and_check_now_does(client, operator, sandbox_seeded):
    from integrations.models import Mapping

    client.force_login(operator)
    path = seed_pages(operator)["mapping"]
    mapping = Mapping.objects.get(pk=int(path.strip("/").split("/")[-1]))
    assert client.get(path).status_code == 200
    mapping.refresh_from_db()
    assert mapping.attention_checked_at is None  # a GET wrote nothing
    html = client.get(path).content.decode()
    assert "Check now</button>" in html
    response = client.post(reverse("dashboard:mapping_check_drift", args=[mapping.pk]))
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert mapping.attention_checked_at is not None


@pytest.mark.django_db
def test_watching_a_stale_bulk_retry_does_not_restart_it_the_sweep_does(
    client, viewer, monkeypatch
):
    from integrations import retries, tasks

    published = []
    monkeypatch.setattr(retries, "task_publish", lambda name, *args: published.append(args))
    job = BulkRetry.objects.create(description="all", total=3)
    BulkRetry.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    client.force_login(viewer)
    assert client.get(reverse("dashboard:deliveries_bulk", args=[job.pk])).status_code == 200
    assert published == []
    tasks.sweep_deliveries()
    assert published == [(job.pk,)]
