"""One code path from a submission to the launch it gives, for the pipeline and the preview.

A delivery's try (`integrations.delivery`) and the builder's preview (`integrations.previews`)
both call `launch_plan` with the same placeholder context (`submission_context`), the same
Tallyfy members (`integrations.directory`) and the same deadline format (the vendor contract),
so the body a preview shows is byte for byte the body the pipeline sends (tested per fixture).
Routing — which of a form's mappings take a submission — is decided here too, by
`engine.route` over the mappings' conditions.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import contract, engine, launchrules
from .directory import directory_for
from .http import NON_FIELD_ERRORS
from .mappings import version_fields, version_spec
from .models import Delivery, Mapping, MappingVersion, Submission
from .tally.answers import Answer, answer_index, answers_from_webhook
from .tally.display import display

#: Why a delivery was skipped (`Delivery.last_error` carries the reason in words).
NO_RULE_MATCHED = "no_rule_matched"
ROUTED_ELSEWHERE = "routed_elsewhere"


def submission_context(
    *,
    form_id: str,
    form_name: str,
    submission_id: str,
    respondent_id: str,
    submitted_at: datetime | None,
) -> dict[str, Any]:
    """The extra placeholders (`engine.CONTEXT_PLACEHOLDERS`) of one submission."""
    return {
        "form_id": form_id,
        "form_name": form_name,
        "submission_id": submission_id,
        "respondent_id": respondent_id or "",
        "submitted_at": submitted_at.isoformat() if submitted_at else "",
    }


def stored_context(sub: Submission) -> dict[str, Any]:
    return submission_context(
        form_id=sub.form_id,
        form_name=sub.form_name,
        submission_id=sub.submission_id,
        respondent_id=sub.respondent_id,
        submitted_at=sub.submitted_at,
    )


def _emails(spec: engine.MappingSpec, answers: Sequence[Answer]) -> list[str] | None:
    """The answers the email people rules read (None: no rule needs Tallyfy's members)."""
    keys = [r.source_key for r in spec.people if r.source == "email"]
    if not keys:
        return None
    index = answer_index(answers)
    return [display(index[k]).text or "" for k in keys if k in index]


def launch_plan(
    version: MappingVersion,
    answers: Sequence[Answer],
    context: MappingABC[str, Any],
    *,
    marker: str,
    connection,
    now: datetime | None = None,
) -> engine.LaunchPlan:
    """The launch body one submission gives under `version`, and its problems.

    Reads Tallyfy's members only when a people rule matches an email answer (kept for a
    while, `integrations.directory`); ApiError and NeedsReconnect escape.
    """
    spec = version_spec(version, marker=marker)
    context = {**context, "followup_link": followup_link(version, marker)}
    emails = _emails(spec, answers)
    directory = directory_for(connection, emails) if emails is not None else None
    return engine.build_launch(
        spec,
        answers,
        version_fields(version),
        context=context,
        directory=directory,
        now=now or timezone.now(),
        deadline_format=contract.deadline_format_for(connection) if spec.deadlines else "iso",
    )


def answers_for(delivery: Delivery) -> list[Answer]:
    """The answers of the delivery's submission, as its stored webhook body gives them."""
    return answers_from_webhook(delivery.submission.payload)


def followup_link(version: MappingVersion, marker: str = "", *, run_id: str = "") -> str:
    """What `{followup_link}` renders to: the version's follow-up form with its hidden
    fields prefilled (empty without a follow-up form). A launch passes its reference
    (`kickoff_ref`: the run's id does not exist yet when the launch body is written); a
    "Complete a task" mapping, filling a task field for the next step, passes the run id.
    A "Complete a task" mapping of that form finds the run through either."""
    if not version.followup_form_id:
        return ""
    return engine.followup_link(
        settings.TALLY_FORMS_BASE_URL,
        version.followup_form_id,
        {"kickoff_ref": marker, "run_id": run_id},
    )


def delivery_build(delivery: Delivery, *, now: datetime | None = None) -> engine.LaunchPlan:
    """The launch body this delivery sends (with its marker), and the problems found."""
    return launch_plan(
        delivery.mapping_version,
        answers_for(delivery),
        stored_context(delivery.submission),
        marker=delivery.marker,
        connection=delivery.mapping.tallyfy_connection,
        now=now,
    )


@dataclass(frozen=True)
class Routing:
    """Whether one mapping takes a submission; `kind` says why not (NO_RULE_MATCHED or
    ROUTED_ELSEWHERE), `reason` in words either way."""

    taken: bool
    kind: str
    reason: str


_NO_MATCH = "No rule matched: "


def _routing(
    route: engine.Route, mapping_id: int, candidates: Sequence[engine.RouteCandidate]
) -> Routing:
    reason = route.reasons.get(mapping_id, "")
    if mapping_id in route.taken:
        return Routing(taken=True, kind="", reason=reason)
    if not route.taken:
        return Routing(taken=False, kind=NO_RULE_MATCHED, reason=reason)
    if reason.startswith(_NO_MATCH):
        # Its own condition failed, and another mapping took the submission: say both.
        takers = sorted(c.name for c in candidates if c.mapping_id in route.taken)
        reason = (
            "Routed to "
            + ", ".join(f"“{name}”" for name in takers)
            + f"; this mapping's condition: {reason.removeprefix(_NO_MATCH)}"
        )
    return Routing(taken=False, kind=ROUTED_ELSEWHERE, reason=reason)


def delivery_route(delivery: Delivery) -> Routing:
    """Whether the delivery's mapping takes its submission.

    The candidates are the submission's deliveries (one per mapping enabled when it
    arrived), each with the version it is pinned to, so every delivery of one submission
    decides from the same rules and they agree.
    """
    # Launch mappings route among themselves; "Complete a task" ones among themselves.
    siblings = Delivery.objects.filter(
        submission_id=delivery.submission_id, mapping__kind=delivery.mapping.kind
    ).select_related("mapping", "mapping_version")
    candidates = [
        launchrules.route_candidate(
            d.mapping_id,
            d.mapping.name,
            delivery.mapping_version if d.pk == delivery.pk else d.mapping_version,
        )
        for d in siblings
    ]
    answers = answers_from_webhook(delivery.submission.payload)
    return _routing(engine.route(answers, candidates), delivery.mapping_id, candidates)


@dataclass(frozen=True)
class RouteRow:
    """One mapping of the form, as the preview lists routing."""

    mapping_id: int
    name: str
    taken: bool
    reason: str
    this: bool


def preview_route(
    mapping: Mapping, version: MappingVersion, answers: Sequence[Answer]
) -> tuple[Routing, list[RouteRow]]:
    """What routing would do with these answers: this mapping (at `version`, enabled or
    not) among the form's enabled mappings (at their current versions)."""
    others = (
        Mapping.objects.filter(
            tally_connection_id=mapping.tally_connection_id,
            form_id=mapping.form_id,
            status=Mapping.Status.ENABLED,
            current_version__isnull=False,
            kind=mapping.kind,
        )
        .exclude(pk=mapping.pk)
        .select_related("current_version")
    )
    candidates = [launchrules.route_candidate(mapping.pk, mapping.name, version)] + [
        launchrules.route_candidate(m.pk, m.name, m.current_version) for m in others
    ]
    route = engine.route(answers, candidates)
    rows = [
        RouteRow(
            mapping_id=c.mapping_id,
            name=c.name,
            taken=c.mapping_id in route.taken,
            reason=route.reasons.get(c.mapping_id, ""),
            this=c.mapping_id == mapping.pk,
        )
        for c in candidates
    ]
    return _routing(route, mapping.pk, candidates), rows


def _deadline_format(body: MappingABC[str, Any]) -> str | None:
    """ "iso" or "space" when the body carries a step deadline, else None."""
    for task in (body.get("tasks") or {}).values():
        deadline = task.get("deadline") if isinstance(task, MappingABC) else None
        if isinstance(deadline, str):
            return "iso" if deadline.endswith("Z") else "space"
    return None


def deadline_outcome(
    connection, body: MappingABC[str, Any], *, field_errors: MappingABC[str, Any] | None = None
) -> bool:
    """Record what Tallyfy made of a launch's deadline format (the vendor contract: its docs
    disagree, docs/vendor-notes.md); True when it refused the format the body used.

    `field_errors`: the 422's errors by field (None: the launch was accepted).
    """
    fmt = _deadline_format(body)
    if fmt is None:
        return False
    if field_errors is None:
        contract.record_deadline_outcome(
            connection, fmt=fmt, accepted=True, detail="A launch with step deadlines was accepted."
        )
        return False
    refused = [k for k in field_errors if str(k).endswith(".deadline")]
    if not refused:
        return False
    words = "; ".join(f"{k}: {' '.join(map(str, field_errors[k]))}" for k in refused)
    contract.record_deadline_outcome(connection, fmt=fmt, accepted=False, detail=words[:400])
    return True


def field_messages(field_errors: MappingABC[str, list[str]], version: MappingVersion) -> str:
    """Tallyfy's per-field 422 messages in words: kick-off field ids and step ids (in
    `tasks.<step id>.…`) turned into their labels."""
    labels = {f.id: f.label for f in version_fields(version)}
    steps = {s.id: s.title for s in launchrules.steps_from_json(version.template_steps)}
    parts = []
    for name, messages in field_errors.items():
        text = "; ".join(messages)
        head, _, rest = str(name).partition(".")
        if head == "tasks" and rest.split(".")[0] in steps:
            step = rest.split(".")[0]
            label = f"Step “{steps[step]}” ({rest.removeprefix(step).lstrip('.') or 'task'})"
        else:
            label = labels.get(name, name)
        if name == NON_FIELD_ERRORS or any(label in m for m in messages):
            parts.append(text)
        else:
            parts.append(f"{label}: {text}")
    return "\n".join(parts)
