"""What Kickoff assumes about Tally and Tallyfy, and what it has seen hold on each connection.

Neither vendor documents everything Kickoff relies on (docs/vendor-notes.md, "Where the
sources disagree"). Each such point is an Assumption: where it comes from (the vendor's
docs, behaviour seen in other integrations, or a guess), and what Kickoff does while it is
not verified or after it failed. The pipeline records what it sees as it works
(check_record); the Connections page and README show the result, so no guess is silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.utils import timezone

from .models import Connection, Provider, VendorCheck

Source = Literal["doc", "seen", "guess"]


@dataclass(frozen=True)
class Assumption:
    key: str
    provider: str
    title: str
    source: Source
    # Why the source is what it is, in one line.
    basis: str
    # What Kickoff does until the assumption is verified, or once it failed.
    meanwhile: str


RUN_LOOKUP = "run_lookup"
SUMMARY_KEPT = "summary_kept"
WEBHOOK_PRESENT = "webhook_present"
EVENT_LOG = "event_log"
QUESTION_IDS = "question_ids"
BLOCK_OPTIONS = "block_options"
SUBMISSION_WINDOWS = "submission_windows"
DEADLINE_FORMAT = "deadline_format"
TEMPLATE_STEPS = "template_steps"
TASK_VALUES = "task_values"

DeadlineFormat = Literal["iso", "space"]
TaskValuesWay = Literal["captures", "taskdata"]

ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        RUN_LOOKUP,
        Provider.TALLYFY,
        "A launched run can be found again by its Kickoff reference",
        "guess",
        "Neither the run summary nor searching runs is in Tallyfy's launch docs.",
        "A try whose outcome is unknown is never relaunched blindly: the delivery waits in "
        "Needs a check, listing the runs that might be it.",
    ),
    Assumption(
        SUMMARY_KEPT,
        Provider.TALLYFY,
        "Tallyfy keeps the summary sent at launch",
        "seen",
        "SDKs send summary; the launch docs do not list it.",
        "Runs are looked up by name, kick-off values and creation time instead.",
    ),
    Assumption(
        WEBHOOK_PRESENT,
        Provider.TALLY,
        "Kickoff's webhooks stay registered and enabled in Tally",
        "doc",
        "Anyone can delete or disable a webhook in the form's Integrations tab.",
        "Checked every 15 minutes; a missing or disabled one is shown on its mapping with "
        "Re-register, and reconcile recovers what it missed.",
    ),
    Assumption(
        EVENT_LOG,
        Provider.TALLY,
        "Tally's webhook delivery log can be read",
        "seen",
        "GET /webhooks/{id}/events is used by integrations, not in the API reference.",
        "Reconcile still recovers missed submissions from the submissions list.",
    ),
    Assumption(
        SUBMISSION_WINDOWS,
        Provider.TALLY,
        "Submissions can be listed between two dates",
        "doc",
        "startDate/endDate on the submissions list; afterId's direction is unstated.",
        "Reconcile pages by date windows with an overlap, never by afterId.",
    ),
    Assumption(
        QUESTION_IDS,
        Provider.TALLY,
        "A form's questions carry the ids webhook keys are made of",
        "doc",
        "One API reference shows {id, type, title, fields}, another {uuid, type, title}.",
        "The builder also offers the fields learned from the form's webhook payloads; "
        "Listen for a test submission teaches them before enabling.",
    ),
    Assumption(
        BLOCK_OPTIONS,
        Provider.TALLY,
        "A form's blocks carry its choice options",
        "doc",
        "Options are blocks sharing the question's group; webhooks carry options too.",
        "Options come from every source; a choice whose options are unknown blocks Enable.",
    ),
    Assumption(
        DEADLINE_FORMAT,
        Provider.TALLYFY,
        "Tallyfy takes task deadlines as ISO UTC (YYYY-MM-DDTHH:MM:SS.000Z)",
        "doc",
        "The launch doc's example is ISO …T…Z; the tasks doc writes YYYY-MM-DD HH:MM:SS.",
        "Deadlines go as ISO until a launch is refused on a deadline field; from then on "
        "they go as YYYY-MM-DD HH:MM:SS (UTC).",
    ),
    Assumption(
        TEMPLATE_STEPS,
        Provider.TALLYFY,
        "A template's steps are listed when asked with ?with=steps",
        "seen",
        "Integrations read steps with ?with=steps; the template doc doesn't promise them.",
        "Without steps, per-step owners and deadlines can't be set up: the builder says so "
        "and launches use the template's own assignees.",
    ),
    Assumption(
        TASK_VALUES,
        Provider.TALLYFY,
        "Task form values are saved by the captures call",
        "seen",
        "A recipe saves each field with POST /tasks/{id}/captures; the docs PUT taskdata.",
        "Values go by captures until that call is refused as unknown (404/405); from then "
        "on they go as taskdata on the task.",
    ),
)
BY_KEY = {a.key: a for a in ASSUMPTIONS}


@dataclass(frozen=True)
class CheckView:
    """One assumption as the Connections page shows it for one connection."""

    assumption: Assumption
    state: str  # "verified", "failed" or "" (not yet verified)
    detail: str
    checked_at: datetime | None

    @property
    def label(self) -> str:
        if self.state == VendorCheck.State.VERIFIED:
            return "Verified"
        if self.state == VendorCheck.State.FAILED:
            return "Failed"
        return "Not yet verified"


def check_record(connection: Connection, key: str, *, held: bool, detail: str = "") -> None:
    """Record what was just seen of assumption key on connection."""
    if key not in BY_KEY:
        raise ValueError(f"unknown assumption {key!r}")
    VendorCheck.objects.update_or_create(
        connection=connection,
        assumption=key,
        defaults={
            "state": VendorCheck.State.VERIFIED if held else VendorCheck.State.FAILED,
            "detail": detail[:500],
            "checked_at": timezone.now(),
        },
    )


def deadline_format_for(connection: Connection) -> DeadlineFormat:
    """The deadline format to send: ISO until an ISO deadline was refused, then "space".

    A refusal of the space format afterwards (recorded as failed with fmt="space") does not
    flip back: nothing else is known to work, and the failure stays on the Connections page.
    """
    check = check_get(connection, DEADLINE_FORMAT)
    if check is None or check.state == VendorCheck.State.VERIFIED:
        return "iso"
    return "space"


def record_deadline_outcome(
    connection: Connection, *, fmt: DeadlineFormat, accepted: bool, detail: str
) -> None:
    """Record a launch that carried deadlines in `fmt`: accepted, or refused on a deadline.

    The assumption is the ISO format, so an ISO deadline accepted verifies it and one refused
    fails it (later launches send "space"). A space-format outcome says nothing new about ISO:
    it only updates the detail staff read, keeping the failed state that chose it.
    """
    if fmt == "iso":
        check_record(connection, DEADLINE_FORMAT, held=accepted, detail=detail)
        return
    outcome = "accepted" if accepted else "refused too"
    check_record(
        connection,
        DEADLINE_FORMAT,
        held=False,
        detail=f"ISO was refused; YYYY-MM-DD HH:MM:SS {outcome}: {detail}",
    )


def record_template_steps(connection: Connection, *, listed: bool, template_title: str) -> None:
    """Record whether reading a template with ?with=steps listed its steps."""
    if listed:
        detail = f"Template “{template_title}” came with its steps."
    else:
        detail = f"Template “{template_title}” came without steps (?with=steps)."
    check_record(connection, TEMPLATE_STEPS, held=listed, detail=detail)


def task_values_way(connection: Connection) -> TaskValuesWay:
    """How to save task form values: the captures call until it was refused as unsupported
    (recorded as failed), then taskdata. A validation refusal (422) is not recorded here."""
    check = check_get(connection, TASK_VALUES)
    if check is None or check.state == VendorCheck.State.VERIFIED:
        return "captures"
    return "taskdata"


def record_task_values(
    connection: Connection, *, way: TaskValuesWay, accepted: bool, detail: str
) -> None:
    """Record a task-values call sent `way`: accepted, or refused as an unsupported call.

    As with deadlines, the assumption is the captures call: accepted verifies it, refused
    fails it (later values go as taskdata). A taskdata outcome only updates the detail,
    keeping the failed state that chose it.
    """
    if way == "captures":
        check_record(connection, TASK_VALUES, held=accepted, detail=detail)
        return
    outcome = "accepted" if accepted else "refused too"
    check_record(
        connection,
        TASK_VALUES,
        held=False,
        detail=f"The captures call was refused; taskdata {outcome}: {detail}",
    )


def check_get(connection: Connection, key: str) -> VendorCheck | None:
    """What was last seen of assumption key on connection, if anything."""
    return VendorCheck.objects.filter(connection=connection, assumption=key).first()


def check_state(connection: Connection, key: str) -> str:
    """ "verified", "failed", or "" when nothing was seen yet."""
    return (
        VendorCheck.objects.filter(connection=connection, assumption=key)
        .values_list("state", flat=True)
        .first()
        or ""
    )


def checks_for(connection: Connection) -> list[CheckView]:
    """Every assumption about connection's vendor, with what was seen of it."""
    seen = {c.assumption: c for c in VendorCheck.objects.filter(connection=connection)}
    out = []
    for assumption in ASSUMPTIONS:
        if assumption.provider != connection.provider:
            continue
        check = seen.get(assumption.key)
        out.append(
            CheckView(
                assumption=assumption,
                state=check.state if check else "",
                detail=check.detail if check else "",
                checked_at=check.checked_at if check else None,
            )
        )
    return out
