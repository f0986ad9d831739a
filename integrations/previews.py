"""Mapping previews and test launches: the exact launch body a real Tally submission gives
under a mapping's current version, and one real Tallyfy process launched from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from . import engine, launchrules
from .audit import audit_record
from .connections import connection_call
from .launching import (
    RouteRow,
    Routing,
    launch_plan,
    preview_route,
    stored_context,
    submission_context,
)
from .mappings import MappingError, fetch_form, version_fields
from .models import Mapping
from .selectors.payloads import stored_submission
from .tally.answers import answers_from_submission, answers_from_webhook
from .tally.shapes import TallySubmission
from .tallyfy.client import Run, run_url

#: How many of the form's newest completed submissions a preview offers to choose from.
PREVIEW_SUBMISSIONS = 10
#: The marker a preview's body carries (a test launch gets a unique one).
PREVIEW_MARKER = "kickoff-preview"


@dataclass
class MappingPreview:
    """The submissions offered, the one chosen, and the launch it gives (None without a
    submission or a saved version)."""

    submissions: list[TallySubmission] = field(default_factory=list)
    chosen: TallySubmission | None = None
    plan: engine.LaunchPlan | None = None
    # Whether this mapping would take the chosen submission, and every enabled mapping of
    # the form with its reason (None without a submission or a saved version).
    routing: Routing | None = None
    route_rows: list[RouteRow] = field(default_factory=list)

    @property
    def blocking(self) -> list[engine.Problem]:
        """The problems that stop Tallyfy accepting (or faithfully keeping) this launch."""
        return self.plan.blocking if self.plan else []


@dataclass
class MappingTestLaunch:
    """A process launched for real from one submission."""

    run: Run
    url: str
    submission: TallySubmission


def mapping_preview(
    *, mapping: Mapping, submission_id: str | None, marker: str = PREVIEW_MARKER
) -> MappingPreview:
    """The launch `submission_id` (else the newest completed submission) would give.

    Reads Tally (the form and its newest submissions); ApiError and NeedsReconnect escape.
    """
    version = mapping.current_version
    form_side = fetch_form(mapping.tally_connection, mapping.form_id)
    page = connection_call(
        mapping.tally_connection,
        lambda c: c.list_submissions(
            mapping.form_id, limit=PREVIEW_SUBMISSIONS, filter="completed"
        ),
    )
    submissions = page.items
    chosen = next((s for s in submissions if s.id == submission_id), None)
    if chosen is None and submission_id:
        detail = connection_call(
            mapping.tally_connection, lambda c: c.get_submission(mapping.form_id, submission_id)
        )
        chosen = detail.submission
    chosen = chosen or (submissions[0] if submissions else None)
    if chosen is None or version is None:
        return MappingPreview(submissions=submissions, chosen=chosen)
    # The stored webhook body names every answer by the key a delivery uses; Tally's REST
    # answers can only be keyed through questions that carry ids (one documented shape has
    # none: docs/vendor-notes.md, "Where the sources disagree").
    stored = stored_submission(form_id=mapping.form_id, submission_id=chosen.id)
    if stored is not None:
        answers = answers_from_webhook(stored.payload)
        context = stored_context(stored)
    else:
        answers = answers_from_submission(chosen.raw, form_side.questions)
        context = submission_context(
            form_id=mapping.form_id,
            form_name=form_side.name,
            submission_id=chosen.id,
            respondent_id=chosen.respondent_id or "",
            submitted_at=chosen.submitted_at,
        )
    plan = launch_plan(
        version, answers, context, marker=marker, connection=mapping.tallyfy_connection
    )
    routing, rows = preview_route(mapping, version, answers)
    return MappingPreview(
        submissions=submissions, chosen=chosen, plan=plan, routing=routing, route_rows=rows
    )


def mapping_test_launch(*, mapping: Mapping, submission_id: str, actor) -> MappingTestLaunch:
    """Launch a real process from one submission, refused while the preview has a blocking
    problem (MappingError says which); recorded in the audit log.

    ApiError and NeedsReconnect (Tally or Tallyfy) escape.
    """
    marker = f"kickoff-test-{uuid.uuid4().hex[:12]}"
    preview = mapping_preview(mapping=mapping, submission_id=submission_id, marker=marker)
    if preview.plan is None or preview.chosen is None:
        raise MappingError("There is no submission to launch from.")
    if preview.blocking:
        raise MappingError("Not launched: " + "; ".join(p.message for p in preview.blocking))
    body = preview.plan.body
    run = connection_call(mapping.tallyfy_connection, lambda c: c.launch_run(body))
    link = run_url(mapping.tallyfy_connection.external_id, run.id)
    audit_record(
        actor=actor,
        action="mapping.test_launch",
        obj=mapping,
        summary=f"Test launch of {mapping} from submission {preview.chosen.id}: run {run.id}",
        run_url=link,
    )
    return MappingTestLaunch(run=run, url=link, submission=preview.chosen)


@dataclass(frozen=True)
class PeopleRow:
    """One line of "who gets the work, by when" under a preview: names, not ids."""

    what: str
    who: str
    deadline: str = ""


def people_summary(body: dict, version, directory: engine.Directory | None) -> list[PeopleRow]:
    """The owner, the process assignees and each step's owners and deadline a launch body
    sets, in names staff know (ids Kickoff cannot name are shown as they are)."""
    members = {m.id: m.name or m.email for m in directory.members} if directory else {}
    groups = {g.id: g.name for g in directory.groups} if directory else {}
    steps = {s.id: s.title for s in launchrules.steps_from_json(version.template_steps)}

    def names(users=(), group_ids=(), guests=()) -> str:
        parts = [members.get(u, f"member {u}") for u in users]
        parts += [f"{groups.get(g, g)} (group)" for g in group_ids]
        parts += [f"{e} (guest)" for e in guests]
        return ", ".join(parts)

    rows = []
    if body.get("owner_id") is not None:
        rows.append(PeopleRow("Process owner", names([body["owner_id"]])))
    if body.get("users") or body.get("groups"):
        rows.append(PeopleRow("Assignees", names(body.get("users", ()), body.get("groups", ()))))
    for step_id, task in (body.get("tasks") or {}).items():
        owners = task.get("owners") or {}
        who = names(owners.get("users", ()), owners.get("groups", ()), owners.get("guests", ()))
        rows.append(
            PeopleRow(
                f"Step “{steps.get(step_id, step_id)}”",
                who or "as the template says",
                task.get("deadline") or "",
            )
        )
    return rows


@dataclass(frozen=True)
class BodyRow:
    """One line of "Tallyfy field → value" under a preview: what staff read, not the body."""

    label: str
    value: str
    field_type: str = ""


def body_rows(body: dict, version) -> list[BodyRow]:
    """The process name, the summary, then each kick-off field the body fills, in the
    template's order, labelled as the template labels them and valued as a person reads
    them (option texts, file names, guests' emails)."""
    fields = version_fields(version)
    prerun = body.get("prerun") or {}
    rows = [BodyRow("Process name", str(body.get("name") or ""))]
    if body.get("summary"):
        rows.append(BodyRow("Summary", str(body["summary"])))
    known = {f.id for f in fields}
    for f in fields:
        if f.id in prerun:
            rows.append(BodyRow(f.label, value_text(prerun[f.id]), f.field_type))
    rows += [BodyRow(key, value_text(value)) for key, value in prerun.items() if key not in known]
    return rows


def value_text(value: Any) -> str:
    """A launch body's value as staff read it."""
    if isinstance(value, dict):
        if {"users", "guests", "groups"} & value.keys():
            parts = [f"member {u}" for u in value.get("users") or ()]
            parts += [f"group {g}" for g in value.get("groups") or ()]
            parts += [f"{e} (guest)" for e in value.get("guests") or ()]
            return ", ".join(parts)
        return str(value.get("text") or value.get("filename") or value.get("id") or "")
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    return "" if value is None else str(value)


def problem_text(problem: engine.Problem) -> str:
    """What follows the problem's label, shown in bold before it: most messages begin with
    the label already ("Region: …", "Requester email is required"), and showing it twice
    reads as a stutter."""
    message = problem.message
    if problem.label and message.startswith(problem.label):
        return message[len(problem.label) :]
    return f": {message}"
