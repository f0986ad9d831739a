"""Completing a Tallyfy task from a submission ("Complete a task" mappings).

One try: find the run (from the follow-up link's reference, a run id in a hidden field, or
the open run whose kick-off field equals an answer), read its tasks, and — unless the task
is already complete (then it is adopted, never completed twice) — save each task form
field and complete it, `is_approved` included for an approval step. Every vendor call is a
`DeliveryCall` with its request and answer.

Tallyfy's sources disagree on how task values are saved (docs/vendor-notes.md, "Where the
sources disagree"): the seed recipe's captures call (one per field) first; where the
organization answers that it has no such endpoint, the documented `PUT …/tasks/{id}` with
`taskdata`, and the vendor contract remembers which one works.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from . import contract, engine
from .connections import connection_call
from .http import ApiError, Invalid, OutcomeUnknown
from .launching import answers_for, field_messages, followup_link, stored_context
from .mappings import version_fields, version_spec
from .models import Delivery, DeliveryAttempt, DeliveryCall, MappingVersion
from .outcome import Outcome, keep
from .selectors.deliveries import parse_reference
from .tally.display import display
from .tallyfy.client import Run, unsupported_call
from .tallyfy.shapes import TallyfyTask

#: How many open runs of the template a kick-off field match reads (newest first).
MATCH_RUNS_READ = 100


class TaskFailed(Exception):
    """The try ends failed at once with this message (no retry would help)."""


class Calls:
    """Makes vendor calls for one attempt and records each as a DeliveryCall."""

    def __init__(self, attempt: DeliveryAttempt, connection) -> None:
        self.attempt = attempt
        self.connection = connection
        self.org = connection.external_id
        self.number = attempt.calls.count()

    def __call__(
        self,
        label: str,
        method: str,
        path: str,
        fn: Callable[[Any], Any],
        *,
        body: dict[str, Any] | None = None,
        ok_status: int = 200,
    ) -> Any:
        self.number += 1
        started = timezone.now()
        clock = time.monotonic()
        record = DeliveryCall(
            attempt=self.attempt,
            number=self.number,
            label=label[:250],
            method=method,
            path=f"/organizations/{self.org}{path}"[:500],
            request_body=body,
            started_at=started,
        )
        try:
            result = connection_call(self.connection, fn)
        except ApiError as exc:
            record.response_status = exc.status
            record.response_body = keep(exc.body or "")
            record.error = str(exc)
            raise
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            raise
        else:
            record.response_status = ok_status
            raw = getattr(result, "raw", result)
            if isinstance(result, list):
                raw = [getattr(r, "raw", r) for r in result]
            record.response_body = keep(json.dumps(raw, default=str, ensure_ascii=False))
            return result
        finally:
            record.duration_ms = int((time.monotonic() - clock) * 1000)
            record.save()


def _answer_text(answers, key: str) -> str:
    found = next((a for a in answers if a.key == key), None)
    return (display(found).text or "").strip() if found else ""


def _resolve_run(delivery: Delivery, version: MappingVersion, answers, calls: Calls) -> tuple:
    """(run id, task id or "") the submission names, or TaskFailed saying why not."""
    rule = version.run_match or {}
    mapping = delivery.mapping
    if rule.get("how") == "field":
        wanted = _answer_text(answers, rule.get("source_key", ""))
        label = rule.get("field_label") or "the kick-off field"
        if not wanted:
            raise TaskFailed(f"The answer to match {label} with is empty.")
        page = calls(
            f"Find open runs of “{mapping.template_name}”",
            "GET",
            f"/runs?checklist_id={mapping.template_id}",
            lambda c: c.find_runs(checklist_id=mapping.template_id, per_page=MATCH_RUNS_READ),
        )
        open_runs = [
            r for r in page.items if (r.status or "active") not in ("complete", "completed")
        ]
        found = engine.match_runs(open_runs, field_id=rule.get("field_id", ""), answer_text=wanted)
        if not found:
            raise TaskFailed(f"No open run of “{mapping.template_name}” has {label} = “{wanted}”.")
        if len(found) > 1 and rule.get("pick") != "newest":
            names = "; ".join(f"“{r.name or r.id}” ({r.id})" for r in found[:10])
            raise TaskFailed(
                f"{len(found)} open runs have {label} = “{wanted}”: {names}. "
                "Pick the newest in the mapping's run rule, or close the others."
            )
        return found[0].id, ""
    reference = _answer_text(answers, rule.get("ref_key", "")) if rule.get("ref_key") else ""
    if reference:
        return _run_of_reference(reference), _answer_text(answers, rule.get("task_key", ""))
    run_id = _answer_text(answers, rule.get("run_key", "")) if rule.get("run_key") else ""
    if not run_id:
        raise TaskFailed(
            "The submission carries no run: its hidden field for the Kickoff reference or the "
            "run id is empty (was the form opened from the follow-up link?)."
        )
    return run_id, _answer_text(answers, rule.get("task_key", "")) if rule.get("task_key") else ""


def _run_of_reference(reference: str) -> str:
    """The run a Kickoff reference's launch made."""
    ref = parse_reference(reference)
    if ref is None or not ref.is_ours:
        raise TaskFailed(f"“{reference}” is not a reference of this Kickoff install.")
    launched = Delivery.objects.filter(pk=ref.delivery_id).values("run_id", "status").first()
    if launched is None:
        raise TaskFailed(f"No delivery {ref.delivery_id} exists for reference “{reference}”.")
    if not launched["run_id"]:
        raise TaskFailed(
            f"Delivery {ref.delivery_id} of reference “{reference}” has no run yet "
            f"({launched['status']}): retry once it has launched."
        )
    return launched["run_id"]


def _find_task(tasks: list[TallyfyTask], *, step_id: str, task_id: str, step: str) -> TallyfyTask:
    if task_id:
        found = next((t for t in tasks if t.id == task_id), None)
        if found is None:
            raise TaskFailed(f"The run has no task {task_id}.")
        return found
    found = next((t for t in tasks if t.step_id == step_id), None)
    if found is None:
        raise TaskFailed(f"The run has no task for the step “{step}”.")
    return found


def _save_values(calls: Calls, run_id: str, task: TallyfyTask, values: dict, labels: dict) -> None:
    """Each task field, by the way the organization accepts (captures, else taskdata)."""
    connection = calls.connection
    if contract.task_values_way(connection) == "captures":
        try:
            for capture_id, value in values.items():
                calls(
                    f"Save “{labels.get(capture_id, capture_id)}”",
                    "POST",
                    f"/tasks/{task.id}/captures",
                    lambda c, i=capture_id, v=value: c.save_capture(task.id, i, v),
                    body={"id": capture_id, "value": value},
                )
        except ApiError as exc:
            if not unsupported_call(exc):
                raise
            contract.record_task_values(
                connection, way="captures", accepted=False, detail=str(exc)[:400]
            )
        else:
            if values:
                contract.record_task_values(
                    connection, way="captures", accepted=True, detail="Task fields saved."
                )
            return
    if values:
        calls(
            f"Save {len(values)} task field{'s' if len(values) != 1 else ''}",
            "PUT",
            f"/runs/{run_id}/tasks/{task.id}",
            lambda c: c.update_task(run_id, task.id, values),
            body={"taskdata": values},
        )
        contract.record_task_values(
            connection, way="taskdata", accepted=True, detail="Task fields saved by taskdata."
        )


def _done(delivery: Delivery, run_id: str, task: TallyfyTask, *, adopted: bool, body) -> Outcome:
    """Completed now, or found complete already (then this submission's answers were not
    saved: said on the delivery, so nobody thinks they were)."""
    return Outcome(
        status=Delivery.Status.SUCCEEDED,
        attempt_outcome=(
            DeliveryAttempt.Outcome.ALREADY_COMPLETE
            if adopted
            else DeliveryAttempt.Outcome.SUCCEEDED
        ),
        error_kind="already_complete" if adopted else "",
        error_message=(
            f"The task “{task.title or delivery.mapping.step_name}” was already complete: "
            "nothing was saved or completed again, and this submission's answers were not "
            "written to it."
            if adopted
            else ""
        ),
        response_status=200 if adopted else 201,
        response_body="Already complete: nothing was sent again." if adopted else "",
        run=Run(id=run_id, name=None, status=None, prerun=None),
        task_id=task.id,
        request_body=body,
    )


def task_try(
    delivery: Delivery,
    attempt: DeliveryAttempt,
    *,
    retry_or_fail: Callable[..., Outcome],
) -> Outcome:
    """One try at completing the delivery's task; vendor errors become outcomes."""
    version = delivery.mapping_version
    mapping = delivery.mapping
    calls = Calls(attempt, mapping.tallyfy_connection)
    answers = answers_for(delivery)
    body: dict[str, Any] | None = None
    try:
        run_id, task_id = _resolve_run(delivery, version, answers, calls)
        tasks = calls(
            "Read the run's tasks",
            "GET",
            f"/runs/{run_id}/tasks?with=form_fields",
            lambda c: c.list_tasks(run_id),
        )
        task = _find_task(tasks, step_id=mapping.step_id, task_id=task_id, step=mapping.step_name)
        if task.is_completed:
            return _done(delivery, run_id, task, adopted=True, body=None)
        plan = engine.build_task(
            version_spec(version, marker=delivery.marker),
            answers,
            version_fields(version),
            # `{followup_link}` in a task field: the next step's form, for this very run.
            context={
                **stored_context(delivery.submission),
                "followup_link": followup_link(version, run_id=run_id),
            },
            is_approval=task.is_approval,
        )
        body = {"run_id": run_id, "task_id": task.id, "values": plan.values}
        if plan.is_approved is not None:
            body["is_approved"] = plan.is_approved
        if plan.blocking:
            return Outcome(
                status=Delivery.Status.FAILED,
                attempt_outcome=DeliveryAttempt.Outcome.FAILED,
                error_kind="validation",
                error_message="\n".join(p.message for p in plan.blocking),
                request_body=body,
            )
        labels = {f.id: f.label for f in version_fields(version)}
        _save_values(calls, run_id, task, plan.values, labels)
        try:
            calls(
                f"Complete “{task.title or mapping.step_name}”",
                "POST",
                f"/runs/{run_id}/completed-tasks",
                lambda c: c.complete_task(run_id, task.id, is_approved=plan.is_approved),
                body={
                    "task_id": task.id,
                    **({"is_approved": plan.is_approved} if plan.is_approved is not None else {}),
                },
                ok_status=201,
            )
        except Invalid:
            # "Already completed" (a try whose answer was lost, or someone in Tallyfy):
            # read the task again rather than trusting the words.
            again = calls(
                "Read the run's tasks again",
                "GET",
                f"/runs/{run_id}/tasks",
                lambda c: c.list_tasks(run_id),
            )
            now = next((t for t in again if t.id == task.id), None)
            if now is not None and now.is_completed:
                return _done(delivery, run_id, task, adopted=True, body=body)
            raise
        return _done(delivery, run_id, task, adopted=False, body=body)
    except TaskFailed as exc:
        return Outcome(
            status=Delivery.Status.FAILED,
            attempt_outcome=DeliveryAttempt.Outcome.FAILED,
            error_kind="no_task",
            error_message=str(exc),
            request_body=body,
        )
    except Invalid as exc:
        # Tallyfy's per-field words, task field ids turned into labels, as for launches.
        fields = field_messages(exc.field_errors, version)
        return Outcome(
            status=Delivery.Status.FAILED,
            attempt_outcome=DeliveryAttempt.Outcome.FAILED,
            error_kind="rejected",
            error_message=fields or str(exc),
            response_status=exc.status,
            response_body=keep(exc.body),
            request_body=body,
        )
    except (OutcomeUnknown, ApiError) as exc:
        if isinstance(exc, OutcomeUnknown) or exc.retryable:
            # Safe to try again: the next try reads the task before writing anything.
            return retry_or_fail(
                delivery,
                kind="unavailable",
                message=str(exc),
                unknown=False,
                response_status=exc.status,
                response_body=keep(exc.body),
                request_body=body,
            )
        return Outcome(
            status=Delivery.Status.FAILED,
            attempt_outcome=DeliveryAttempt.Outcome.FAILED,
            error_kind=f"http_{exc.status}" if exc.status else "rejected",
            error_message=str(exc),
            response_status=exc.status,
            response_body=keep(exc.body),
            request_body=body,
        )
