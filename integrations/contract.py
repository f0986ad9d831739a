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
