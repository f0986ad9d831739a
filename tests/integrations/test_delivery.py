"""The delivery service: claim, encode, launch, and classify Tallyfy's answer (respx fakes)."""

import re
from datetime import timedelta

import httpx
import pytest
import respx
from django.core import mail
from django.utils import timezone

from integrations import contract, outbox
from integrations import delivery as service
from integrations.models import (
    Connection,
    Delivery,
    DeliveryAttempt,
    Installation,
    MappingVersion,
)
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")

API = "https://tallyfy.test/api"
RUNS = f"/api/organizations/{pf.ACME_ID}/runs"
EMAIL_FIELD = pf.triage_field_id("requester_email")


@pytest.fixture(autouse=True)
def tallyfy_urls(settings):
    settings.TALLYFY_API_BASE_URL = API
    settings.TALLYFY_APP_BASE_URL = "https://app.tallyfy.test"
    settings.PUBLIC_BASE_URL = "https://kickoff.test"


@pytest.fixture
def tallyfy(respx_mock=None):
    with respx.mock(base_url="https://tallyfy.test", assert_all_called=False) as router:
        # After a launch Kickoff checks that it could find the run again; Tallyfy lists
        # no runs unless a test says otherwise.
        router.get(RUNS).respond(200, json={"data": []})
        yield router


@pytest.fixture
def mapping(db, operator):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


@pytest.fixture
def lookup_verified(mapping):
    """An earlier launch on this organization was found again by its reference."""
    contract.check_record(mapping.tallyfy_connection, contract.RUN_LOOKUP, held=True)


@pytest.fixture
def delivery(mapping, task_queue):
    return pf.ingest(mapping)[0]


def run_body(run_id="run-1", summary="", **extra):
    return {
        "data": {
            "id": run_id,
            "name": "Ticket",
            "status": "active",
            "checklist_id": pf.SUPPORT_TRIAGE_ID,
            "summary": summary,
            "created_at": timezone.now().isoformat(),
            **extra,
        }
    }


def runs_page(*runs):
    return {
        "data": [r["data"] for r in runs],
        "meta": {"pagination": {"current_page": 1, "total_pages": 1, "total": len(runs)}},
    }


def reference(marker):
    return f"Kickoff reference: {marker}"


def attempts(delivery):
    return list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))


def make_due(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


# --- success --------------------------------------------------------------------------------


def test_a_2xx_launch_succeeds_and_records_the_run_and_the_attempt(tallyfy, delivery):
    route = tallyfy.post(RUNS).respond(201, json=run_body("run-42"))

    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.SUCCEEDED
    assert done.run_id == "run-42"
    assert done.run_url == f"https://app.tallyfy.test/{pf.ACME_ID}/processes/run-42"
    assert done.outcome_unknown is False and done.lease_until is None
    sent = route.calls.last.request
    body = __import__("json").loads(sent.content)
    assert body["checklist_id"] == pf.SUPPORT_TRIAGE_ID
    assert body["name"] == "Ticket from ria@example.com"
    assert body["prerun"][EMAIL_FIELD] == "ria@example.com"  # keyed by field id
    assert body["summary"].endswith(reference(delivery.marker))
    [attempt] = attempts(delivery)
    assert attempt.outcome == DeliveryAttempt.Outcome.SUCCEEDED
    assert attempt.request_body == body
    assert attempt.response_status == 201 and "run-42" in attempt.response_body
    assert attempt.duration_ms is not None and attempt.finished_at
    assert attempt.trigger == DeliveryAttempt.Trigger.AUTO
    assert attempt.mapping_version == delivery.mapping_version


def test_a_succeeded_delivery_is_never_launched_again_not_even_by_staff(
    tallyfy, delivery, operator
):
    route = tallyfy.post(RUNS).respond(201, json=run_body())
    service.delivery_process(delivery.pk)

    assert service.delivery_process(delivery.pk) is None
    assert service.delivery_process(delivery.pk, trigger="staff", user=operator) is None
    assert route.call_count == 1


# --- local validation -----------------------------------------------------------------------


def test_a_missing_required_value_fails_before_any_http_call(tallyfy, mapping, task_queue):
    fields = [f for f in pf.support_fields() if f["key"] != "question_Ky5vXe"]
    [delivery] = pf.ingest(mapping, pf.envelope(fields=fields))

    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.FAILED
    assert "Requester email is required" in done.last_error
    assert len(tallyfy.calls) == 0
    [attempt] = attempts(delivery)
    assert attempt.error_kind == "validation" and attempt.request_body["prerun"] is not None
    assert attempt.response_status is None
    assert len(mail.outbox) == 1 and "could not be launched" in mail.outbox[0].subject
    assert "Requester email is required" in mail.outbox[0].body


# --- retryable ------------------------------------------------------------------------------


def test_a_429_retries_when_retry_after_says(
    tallyfy, delivery, task_queue, django_capture_on_commit_callbacks
):
    tallyfy.post(RUNS).respond(429, headers={"Retry-After": "7"}, json={"message": "Slow down"})

    with django_capture_on_commit_callbacks(execute=True):
        done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.RETRYING
    # Counted from Tallyfy's answer, not from when this line runs on a busy machine.
    wait = (done.next_attempt_at - attempts(delivery)[0].finished_at).total_seconds()
    assert 6 < wait <= 7
    assert done.outcome_unknown is False  # a 429 was not acted on
    assert attempts(delivery)[0].error_kind == "rate_limited"
    # Soon enough to be queued with a countdown, not only left to the sweep.
    assert task_queue.sent[-1][0] == delivery.pk and 5 < task_queue.sent[-1][1] <= 7


def test_429s_do_not_use_up_the_retry_schedule(tallyfy, delivery, settings, task_queue):
    settings.DELIVERY_RETRY_SCHEDULE = [1]
    tallyfy.post(RUNS).respond(429, headers={"Retry-After": "0"})
    for _ in range(4):
        make_due(delivery)
        assert service.delivery_process(delivery.pk).status == Delivery.Status.RETRYING


def test_a_503_retries_on_the_published_schedule_then_fails(tallyfy, delivery, settings):
    settings.DELIVERY_RETRY_SCHEDULE = [30, 120]
    tallyfy.post(RUNS).respond(503, json={"message": "Maintenance"})

    first = service.delivery_process(delivery.pk)
    assert first.status == Delivery.Status.RETRYING
    assert 29 < (first.next_attempt_at - attempts(delivery)[0].finished_at).total_seconds() <= 30
    assert first.outcome_unknown is False  # 503: turned away, nothing created
    assert service.delivery_process(delivery.pk) is None  # not due yet

    make_due(delivery)
    second = service.delivery_process(delivery.pk)
    assert 119 < (second.next_attempt_at - attempts(delivery)[1].finished_at).total_seconds() <= 120

    make_due(delivery)
    last = service.delivery_process(delivery.pk)
    assert last.status == Delivery.Status.FAILED
    assert "gave up after 3 tries" in last.last_error
    assert [a.outcome for a in attempts(delivery)] == ["retry", "retry", "failed"]
    assert len(mail.outbox) == 1


def test_a_launch_that_may_have_worked_is_looked_up_before_giving_up(
    tallyfy, delivery, settings, lookup_verified
):
    settings.DELIVERY_RETRY_SCHEDULE = [30]
    launch = tallyfy.post(RUNS).mock(side_effect=httpx.ReadTimeout("timed out"))
    tallyfy.get(RUNS).respond(200, json=runs_page())
    service.delivery_process(delivery.pk)
    make_due(delivery)
    spent = service.delivery_process(delivery.pk)  # schedule spent, outcome still unknown
    assert spent.status == Delivery.Status.RETRYING and spent.outcome_unknown

    make_due(delivery)
    last = service.delivery_process(delivery.pk)  # looks, finds nothing, does not relaunch

    assert last.status == Delivery.Status.FAILED
    assert "none was made" in last.last_error and not last.outcome_unknown
    assert launch.call_count == 2


def test_a_run_made_by_the_last_scheduled_try_is_still_adopted(
    tallyfy, delivery, settings, lookup_verified
):
    settings.DELIVERY_RETRY_SCHEDULE = [30]
    tallyfy.post(RUNS).mock(side_effect=httpx.RemoteProtocolError("dropped"))
    search = tallyfy.get(RUNS)
    search.side_effect = [
        httpx.Response(200, json=runs_page()),
        httpx.Response(200, json=runs_page()),
        httpx.Response(200, json=runs_page(run_body("late", reference(delivery.marker)))),
    ]
    service.delivery_process(delivery.pk)
    make_due(delivery)
    service.delivery_process(delivery.pk)
    make_due(delivery)

    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.SUCCEEDED and done.run_id == "late"


def test_a_connect_error_retries_without_doubt(tallyfy, delivery):
    tallyfy.post(RUNS).mock(side_effect=httpx.ConnectError("refused"))

    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.RETRYING and done.outcome_unknown is False
    assert attempts(delivery)[0].error_kind == "unavailable"


# --- exactly once ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"message": "Server Error"}),
        httpx.Response(502, text="<html><title>Bad gateway</title></html>"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=["500", "502", "read-timeout", "dropped"],
)
def test_an_unknown_outcome_is_looked_up_by_marker_and_adopted_not_relaunched(
    tallyfy, delivery, failure
):
    launch = tallyfy.post(RUNS)
    launch.side_effect = [failure]
    first = service.delivery_process(delivery.pk)
    assert first.status == Delivery.Status.RETRYING and first.outcome_unknown is True
    assert attempts(delivery)[0].error_kind == "outcome_unknown"

    summary = f"Web support request\n\n{reference(delivery.marker)}"
    search = tallyfy.get(RUNS).respond(200, json=runs_page(run_body("run-made", summary)))
    make_due(delivery)
    second = service.delivery_process(delivery.pk)

    assert second.status == Delivery.Status.SUCCEEDED and second.run_id == "run-made"
    assert launch.call_count == 1  # never launched twice
    assert search.calls.last.request.url.params["q"] == delivery.marker
    assert attempts(delivery)[1].outcome == DeliveryAttempt.Outcome.ADOPTED
    assert second.outcome_unknown is False


def test_a_look_up_that_finds_nothing_launches_again(tallyfy, delivery, lookup_verified):
    launch = tallyfy.post(RUNS)
    launch.side_effect = [httpx.ReadTimeout("timed out"), httpx.Response(201, json=run_body("r2"))]
    tallyfy.get(RUNS).respond(200, json=runs_page())
    service.delivery_process(delivery.pk)
    make_due(delivery)

    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.SUCCEEDED and done.run_id == "r2"
    assert launch.call_count == 2


def test_a_similar_marker_is_not_mistaken_for_ours(tallyfy, delivery, lookup_verified):
    launch = tallyfy.post(RUNS)
    launch.side_effect = [httpx.ReadTimeout("timed out"), httpx.Response(201, json=run_body("r2"))]
    lookalike = run_body("other", reference(f"{delivery.marker}0"))
    tallyfy.get(RUNS).respond(200, json=runs_page(lookalike))
    service.delivery_process(delivery.pk)
    make_due(delivery)

    assert service.delivery_process(delivery.pk).run_id == "r2"


def test_the_marker_names_this_install_so_another_kickoff_never_adopts_our_runs(delivery):
    key = Installation.objects.get().key

    assert re.fullmatch(r"[0-9a-f]{8}", key)
    assert delivery.marker == f"kickoff-{key}-delivery-{delivery.pk}"


def test_a_run_another_install_made_for_its_own_delivery_of_the_same_id_is_not_adopted(
    tallyfy, delivery, lookup_verified
):
    launch = tallyfy.post(RUNS)
    launch.side_effect = [httpx.ReadTimeout("timed out"), httpx.Response(201, json=run_body("r2"))]
    staging = run_body("staging-run", reference(f"kickoff-0badc0de-delivery-{delivery.pk}"))
    tallyfy.get(RUNS).respond(200, json=runs_page(staging))
    service.delivery_process(delivery.pk)
    make_due(delivery)

    done = service.delivery_process(delivery.pk)

    assert done.run_id == "r2" and launch.call_count == 2


def test_a_launch_sent_before_this_install_had_a_key_is_still_found_by_its_old_marker(
    tallyfy, delivery
):
    launch = tallyfy.post(RUNS)
    launch.side_effect = [httpx.ReadTimeout("timed out")]
    service.delivery_process(delivery.pk)
    # What that first try sent, as a Kickoff from before migration 0009 wrote it.
    legacy = f"kickoff-delivery-{delivery.pk}"
    [first] = attempts(delivery)
    first.request_body["summary"] = f"Web support request\n\n{reference(legacy)}"
    first.save()

    def runs(request):
        found = request.url.params.get("q") == legacy
        return httpx.Response(
            200, json=runs_page(*([run_body("old-run", reference(legacy))] if found else []))
        )

    tallyfy.get(RUNS).mock(side_effect=runs)
    make_due(delivery)

    done = service.delivery_process(delivery.pk)

    assert done.run_id == "old-run" and launch.call_count == 1
    assert attempts(delivery)[-1].outcome == DeliveryAttempt.Outcome.ADOPTED


def test_when_search_misses_the_summary_a_scan_of_recent_runs_finds_it(tallyfy, delivery):
    tallyfy.post(RUNS).mock(side_effect=httpx.ReadTimeout("timed out"))
    service.delivery_process(delivery.pk)
    ours = run_body("found-by-scan", reference(delivery.marker))

    def runs(request):
        if request.url.params.get("q"):
            return httpx.Response(200, json=runs_page())  # q does not search summaries
        return httpx.Response(200, json=runs_page(run_body("x"), ours))

    tallyfy.get(RUNS).mock(side_effect=runs)
    make_due(delivery)

    assert service.delivery_process(delivery.pk).run_id == "found-by-scan"


def test_a_failed_look_up_keeps_the_outcome_unknown(tallyfy, delivery):
    tallyfy.post(RUNS).mock(side_effect=httpx.ReadTimeout("timed out"))
    service.delivery_process(delivery.pk)
    tallyfy.get(RUNS).respond(503)
    make_due(delivery)

    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.RETRYING and done.outcome_unknown is True


def test_outcome_unknown_is_set_before_the_launch_is_sent(tallyfy, delivery):
    seen = {}

    def launch(request):
        seen["flag"] = Delivery.objects.get(pk=delivery.pk).outcome_unknown
        return httpx.Response(201, json=run_body())

    tallyfy.post(RUNS).mock(side_effect=launch)
    done = service.delivery_process(delivery.pk)

    assert seen["flag"] is True  # a SIGKILL at this moment leaves the flag set
    assert done.outcome_unknown is False


def test_a_delivery_whose_worker_died_is_claimed_again_after_its_lease_and_looks_first(
    tallyfy, delivery
):
    # What a worker killed mid-launch leaves behind.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING,
        outcome_unknown=True,
        lease_until=timezone.now() + timedelta(seconds=60),
    )
    DeliveryAttempt.objects.create(delivery=delivery, number=1, request_body={})
    launch = tallyfy.post(RUNS).respond(201, json=run_body())
    tallyfy.get(RUNS).respond(200, json=runs_page(run_body("kept", reference(delivery.marker))))

    assert service.delivery_process(delivery.pk) is None  # lease still running
    Delivery.objects.filter(pk=delivery.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.SUCCEEDED and done.run_id == "kept"
    assert launch.call_count == 0
    first, second = attempts(delivery)
    assert first.outcome == DeliveryAttempt.Outcome.UNKNOWN and first.error_kind == "worker_lost"
    assert second.outcome == DeliveryAttempt.Outcome.ADOPTED


def test_a_try_that_outlived_its_lease_cannot_overwrite_the_worker_that_took_over(
    tallyfy, delivery
):
    new_lease = timezone.now() + timedelta(seconds=90)

    def slow_rejection(request):
        # Tallyfy answers after the lease ran out and another worker claimed the delivery.
        Delivery.objects.filter(pk=delivery.pk).update(lease_until=new_lease)
        return httpx.Response(422, json={"error": True, "message": "Template is archived"})

    tallyfy.post(RUNS).mock(side_effect=slow_rejection)

    service.delivery_process(delivery.pk)

    # The delivery is still the other worker's: not failed, no failure email to staff.
    now = Delivery.objects.get(pk=delivery.pk)
    assert now.status == Delivery.Status.SENDING and now.lease_until == new_lease
    assert now.last_error == "" and mail.outbox == []
    [slow] = attempts(delivery)  # the slow try itself stays on record
    assert slow.outcome == DeliveryAttempt.Outcome.FAILED and slow.response_status == 422


def test_a_redelivered_task_waits_for_a_live_lease_then_looks_again(delivery, task_queue):
    lease = timezone.now() + timedelta(seconds=20)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING, lease_until=lease
    )
    task_queue.take()

    assert service.delivery_process_queued(delivery.pk) is None

    [(pk, countdown)] = task_queue.take()
    assert pk == delivery.pk and 19 < countdown <= 21


# --- held -----------------------------------------------------------------------------------


def test_a_rejected_token_holds_the_delivery_until_the_connection_is_reconnected(
    tallyfy, delivery, task_queue, django_capture_on_commit_callbacks
):
    tallyfy.post(RUNS).respond(401, text="Unauthorized")

    held = service.delivery_process(delivery.pk)

    assert held.status == Delivery.Status.HELD
    assert "Held until the Tallyfy connection is reconnected" in held.last_error
    connection = Connection.objects.get(pk=delivery.mapping.tallyfy_connection_id)
    assert connection.status == Connection.Status.NEEDS_RECONNECT
    assert any("needs reconnecting" in m.subject for m in mail.outbox)
    # Further deliveries are held without calling Tallyfy.
    assert service.delivery_process(delivery.pk, trigger="staff").status == "held"
    assert len(tallyfy.calls) == 1

    task_queue.take()
    connection.status = Connection.Status.ACTIVE  # what a reconnect saves
    with django_capture_on_commit_callbacks(execute=True):
        connection.save()

    resumed = Delivery.objects.get(pk=delivery.pk)
    assert resumed.status == Delivery.Status.RETRYING
    assert task_queue.ids == [delivery.pk]
    tallyfy.post(RUNS).respond(201, json=run_body("after-reconnect"))
    with django_capture_on_commit_callbacks(execute=True):
        task_queue.drain()
    assert Delivery.objects.get(pk=delivery.pk).run_id == "after-reconnect"


# --- rejected -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"message": "The given data was invalid.", "errors": {EMAIL_FIELD: ["Must be valid."]}},
        {"error": True, "errors": {EMAIL_FIELD: ["Must be valid."]}},
    ],
)
def test_a_422_fails_at_once_with_tallyfys_message_per_field(tallyfy, delivery, body):
    tallyfy.post(RUNS).respond(422, json=body)

    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.FAILED
    assert "Requester email: Must be valid." in done.last_error
    assert done.last_status_code == 422
    assert attempts(delivery)[0].error_kind == "rejected"
    assert len(mail.outbox) == 1


def test_a_422_with_only_a_message_keeps_it(tallyfy, delivery):
    tallyfy.post(RUNS).respond(422, json={"error": True, "message": "Template is archived"})
    assert "Template is archived" in service.delivery_process(delivery.pk).last_error


@pytest.mark.parametrize("status", [403, 404, 409])
def test_other_4xx_fail_at_once(tallyfy, delivery, status):
    tallyfy.post(RUNS).respond(status, json={"message": "Nope"})

    done = service.delivery_process(delivery.pk)

    assert done.status == Delivery.Status.FAILED and "Nope" in done.last_error


def test_failure_emails_are_limited_to_one_per_mapping_per_ten_minutes(
    tallyfy, mapping, task_queue
):
    tallyfy.post(RUNS).respond(422, json={"message": "No"})
    for _ in range(3):
        [d] = pf.ingest(mapping)
        service.delivery_process(d.pk)
    assert len(mail.outbox) == 1


# --- staff retry ----------------------------------------------------------------------------


def test_staff_can_retry_a_failed_delivery_with_the_current_version(tallyfy, delivery, operator):
    tallyfy.post(RUNS).respond(422, json={"message": "No"})
    service.delivery_process(delivery.pk)
    old = delivery.mapping_version
    new = MappingVersion.objects.create(
        mapping=delivery.mapping,
        number=2,
        name_template="Fixed {Your email}",
        template_fields=old.template_fields,
        form_questions=old.form_questions,
    )
    for rule in old.fields.all():
        rule.pk, rule.version = None, new
        rule.save()
    delivery.mapping.current_version = new
    delivery.mapping.save()
    route = tallyfy.post(RUNS).respond(201, json=run_body("fixed"))

    done = service.delivery_process(
        delivery.pk, trigger="staff", user=operator, use_current_version=True
    )

    assert done.status == Delivery.Status.SUCCEEDED and done.mapping_version == new
    assert __import__("json").loads(route.calls.last.request.content)["name"].startswith("Fixed")
    last = attempts(delivery)[-1]
    assert last.trigger == "staff" and last.triggered_by == operator and last.mapping_version == new


# --- secrets --------------------------------------------------------------------------------


def test_no_token_ends_up_in_attempts_errors_or_logs(tallyfy, delivery, caplog):
    token = delivery.mapping.tallyfy_connection.access_token
    tallyfy.post(RUNS).respond(422, json={"message": f"bad token {token}"})

    done = service.delivery_process(delivery.pk)

    stored = " ".join(
        str(v)
        for a in attempts(delivery)
        for v in (a.request_body, a.response_body, a.error_message)
    )
    assert token not in stored and token not in done.last_error
    assert token not in caplog.text


# --- sweep ----------------------------------------------------------------------------------


def test_the_sweep_requeues_only_what_no_task_will_run(mapping, task_queue):
    now = timezone.now()
    ds = [d for _ in range(7) for d in pf.ingest(mapping)]
    long_ago = now - timedelta(minutes=5)
    states = [
        dict(status="pending", created_at=long_ago),  # lost task → requeue
        dict(status="pending", created_at=now),  # just enqueued → leave
        dict(status="sending", lease_until=now - timedelta(seconds=1)),  # worker died → requeue
        dict(status="sending", lease_until=now + timedelta(seconds=60)),  # running → leave
        dict(status="retrying", next_attempt_at=now - timedelta(seconds=1)),  # due → requeue
        dict(status="retrying", next_attempt_at=now + timedelta(minutes=10)),  # later → leave
        dict(status="succeeded"),
    ]
    for d, state in zip(ds, states, strict=True):
        Delivery.objects.filter(pk=d.pk).update(**state)
    task_queue.take()

    assert outbox.deliveries_sweep() == 3
    assert sorted(task_queue.ids) == sorted([ds[0].pk, ds[2].pk, ds[4].pk])
    # Sent again they wait as pending; the next sweeps leave them to their queued task.
    assert {Delivery.objects.get(pk=ds[i].pk).status for i in (0, 2, 4)} == {"pending"}
    assert Delivery.objects.get(pk=ds[2].pk).outcome_unknown is False
    task_queue.take()
    assert outbox.deliveries_sweep() == 0
