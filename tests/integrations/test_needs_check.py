"""A launch whose answer never came, on an organization where Kickoff cannot yet find runs
again: never relaunched blindly, but shown to staff, who adopt a run or launch."""

import json

import httpx
import pytest
import respx
from django.utils import timezone

from integrations import contract, retries, tasks
from integrations import delivery as service
from integrations.models import AuditEvent, Delivery, DeliveryAttempt
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")

API = "https://tallyfy.test/api"
RUNS = f"/api/organizations/{pf.ACME_ID}/runs"


@pytest.fixture(autouse=True)
def tallyfy_urls(settings):
    settings.TALLYFY_API_BASE_URL = API
    settings.TALLYFY_APP_BASE_URL = "https://app.tallyfy.test"


@pytest.fixture
def tallyfy():
    with respx.mock(base_url="https://tallyfy.test", assert_all_called=False) as router:
        router.get(RUNS).respond(200, json={"data": []})
        yield router


@pytest.fixture
def mapping(db, operator):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


@pytest.fixture
def delivery(mapping, task_queue):
    return pf.ingest(mapping)[0]


def run(run_id, *, name="Ticket", summary="", template=pf.SUPPORT_TRIAGE_ID):
    return {
        "id": run_id,
        "name": name,
        "status": "active",
        "checklist_id": template,
        "summary": summary,
        "created_at": timezone.now().isoformat(),
    }


def page(*runs):
    return {"data": list(runs), "meta": {"pagination": {"current_page": 1, "total_pages": 1}}}


def timed_out_once(tallyfy, delivery):
    """The first launch times out; the delivery is due for its next try."""
    launch = tallyfy.post(RUNS, name="launch").mock(side_effect=httpx.ReadTimeout("timed out"))
    service.delivery_process(delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return launch


def test_with_no_verified_way_to_find_runs_an_unknown_launch_waits_for_staff(tallyfy, delivery):
    launch = timed_out_once(tallyfy, delivery)
    tallyfy.get(RUNS).respond(200, json=page(run("r-other", name="Someone else's ticket")))

    checked = service.delivery_process(delivery.pk)

    assert checked.status == Delivery.Status.NEEDS_CHECK and checked.outcome_unknown
    assert launch.call_count == 1
    assert "Tallyfy may have created this run" in checked.last_error
    assert [c["id"] for c in checked.candidates] == ["r-other"]
    assert checked.candidates[0]["url"].endswith("/processes/r-other")
    last = checked.attempts.order_by("-number").first()
    assert last.outcome == DeliveryAttempt.Outcome.NEEDS_CHECK


def test_several_runs_alike_need_a_check_even_where_lookups_work(tallyfy, delivery, mapping):
    contract.check_record(mapping.tallyfy_connection, contract.RUN_LOOKUP, held=True)
    launch = timed_out_once(tallyfy, delivery)
    sent = delivery.attempts.get().request_body
    twins = [dict(run(f"r{i}", name=sent["name"]), prerun=sent["prerun"]) for i in (1, 2)]
    tallyfy.get(RUNS).respond(200, json=page(*twins))

    checked = service.delivery_process(delivery.pk)

    assert checked.status == Delivery.Status.NEEDS_CHECK
    assert {c["id"] for c in checked.candidates} == {"r1", "r2"}
    assert launch.call_count == 1


def test_a_launch_found_again_by_its_reference_verifies_the_lookup(tallyfy, delivery, mapping):
    def launched(request):
        sent = json.loads(request.read())
        tallyfy.get(RUNS).respond(200, json=page(run("r1", summary=sent["summary"])))
        return httpx.Response(201, json={"data": run("r1", summary=sent["summary"])})

    tallyfy.post(RUNS).mock(side_effect=launched)

    assert service.delivery_process(delivery.pk).status == Delivery.Status.SUCCEEDED

    connection = mapping.tallyfy_connection
    assert contract.check_state(connection, contract.RUN_LOOKUP) == "verified"
    assert contract.check_state(connection, contract.SUMMARY_KEPT) == "verified"
    assert "searching runs" in contract.check_get(connection, contract.RUN_LOOKUP).detail


def test_a_launch_tallyfy_cannot_find_again_records_the_lookup_as_failed(
    tallyfy, delivery, mapping
):
    # Tallyfy drops the summary, search ignores it, and the run lists under no matching name.
    tallyfy.post(RUNS).respond(201, json={"data": run("r1", summary=None)})
    tallyfy.get(f"{RUNS}/r1").respond(200, json={"data": run("r1", summary=None)})

    assert service.delivery_process(delivery.pk).status == Delivery.Status.SUCCEEDED

    connection = mapping.tallyfy_connection
    assert contract.check_state(connection, contract.RUN_LOOKUP) == "failed"
    assert contract.check_state(connection, contract.SUMMARY_KEPT) == "failed"


@pytest.fixture
def needs_check(tallyfy, delivery):
    timed_out_once(tallyfy, delivery)
    tallyfy.get(RUNS).respond(200, json=page(run("r1")))
    checked = service.delivery_process(delivery.pk)
    assert checked.status == Delivery.Status.NEEDS_CHECK
    return checked


def test_staff_adopt_the_run_they_found_and_nothing_is_launched(tallyfy, needs_check, operator):
    tallyfy.get(f"{RUNS}/r1").respond(200, json={"data": run("r1")})

    done = retries.delivery_use_run(needs_check, run_id="r1", user=operator)
    again = retries.delivery_use_run(needs_check, run_id="r1", user=operator)

    assert done.check_accepted and not again.check_accepted
    assert done.status == Delivery.Status.SUCCEEDED and done.run_id == "r1"
    assert not done.outcome_unknown and done.candidates == []
    last = done.attempts.order_by("-number").first()
    assert (last.outcome, last.trigger, last.triggered_by) == ("adopted", "staff", operator)
    assert AuditEvent.objects.filter(action="delivery.run_chosen").count() == 1
    assert tallyfy.routes["launch"].call_count == 1  # only the try that timed out


def test_a_run_of_another_template_is_refused(tallyfy, needs_check, operator):
    tallyfy.get(f"{RUNS}/r9").respond(200, json={"data": run("r9", template="other")})

    with pytest.raises(retries.CheckError, match="another template"):
        retries.delivery_use_run(needs_check, run_id="r9", user=operator)
    assert Delivery.objects.get(pk=needs_check.pk).status == Delivery.Status.NEEDS_CHECK


def test_a_run_tallyfy_does_not_have_is_refused(tallyfy, needs_check, operator):
    tallyfy.get(f"{RUNS}/nope").respond(404, json={"message": "Not found"})

    with pytest.raises(retries.CheckError, match="Tallyfy has no run nope"):
        retries.delivery_use_run(needs_check, run_id="nope", user=operator)


def test_a_run_another_delivery_owns_is_refused(tallyfy, needs_check, operator, mapping):
    other = pf.ingest(mapping, pf.envelope(form_id=mapping.form_id, submission_id="other"))[0]
    Delivery.objects.filter(pk=other.pk).update(run_id="r1", status="succeeded")

    with pytest.raises(retries.CheckError, match=f"already belongs to delivery {other.pk}"):
        retries.delivery_use_run(needs_check, run_id="r1", user=operator)


def test_staff_saying_no_run_was_made_launches_exactly_once(
    tallyfy, needs_check, operator, monkeypatch, django_capture_on_commit_callbacks
):
    tallyfy.post(RUNS, name="launch").respond(201, json={"data": run("r2")})
    published = []
    monkeypatch.setattr(
        tasks.retry_delivery, "apply_async", lambda args=(), **kw: published.append(args)
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = retries.delivery_launch_unchecked(needs_check, user=operator)
        second = retries.delivery_launch_unchecked(needs_check, user=operator)
    assert len(published) == 1
    tasks.retry_delivery.run(*published[0])

    assert first.check_accepted and not second.check_accepted
    done = Delivery.objects.get(pk=needs_check.pk)
    assert done.status == Delivery.Status.SUCCEEDED and done.run_id == "r2"
    assert tallyfy.routes["launch"].call_count == 2  # the timed-out try, then this one
