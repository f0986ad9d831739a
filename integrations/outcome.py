"""How one delivery try ended (`Outcome`), as the pipeline writes it onto the delivery and
its attempt, and the outcomes that need no vendor answer to decide."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import engine
from .launching import ROUTED_ELSEWHERE, Routing
from .models import Delivery, DeliveryAttempt
from .tallyfy.client import Run

#: How much of a vendor's answer an attempt keeps.
RESPONSE_KEEP_CHARS = 4096


@dataclass
class Outcome:
    """How one try ended, to be written onto the delivery and its attempt."""

    status: str  # Delivery.Status
    attempt_outcome: str  # DeliveryAttempt.Outcome
    error_kind: str = ""
    error_message: str = ""
    response_status: int | None = None
    response_body: str = ""
    run: Run | None = None
    next_attempt_at: datetime | None = None
    outcome_unknown: bool = False
    request_body: dict[str, Any] | None = None
    # Needs a check: the runs that might be this delivery's.
    candidates: list[dict[str, Any]] | None = None
    # "Complete a task": the task completed (or found already complete).
    task_id: str = ""


def keep(text: str, limit: int = RESPONSE_KEEP_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def succeeded(
    run: Run,
    *,
    adopted: bool,
    body: dict | None,
    warnings: Sequence[engine.Problem] = (),
) -> Outcome:
    """A run made (or found again). What the launch sent despite a warning (a deadline in
    the past, a name cut to length) stays on the attempt, in words."""
    said = [p.message for p in warnings if not p.blocking]
    return Outcome(
        status=Delivery.Status.SUCCEEDED,
        attempt_outcome=(
            DeliveryAttempt.Outcome.ADOPTED if adopted else DeliveryAttempt.Outcome.SUCCEEDED
        ),
        response_status=200 if adopted else 201,
        response_body=keep(json.dumps(run.raw, default=str, ensure_ascii=False)),
        run=run,
        request_body=body,
        error_kind="warnings" if said else "",
        error_message="\n".join(said),
    )


def skipped(routing: Routing) -> Outcome:
    """Nothing sent: no mapping of the form takes the submission, or another one took it."""
    routed = routing.kind == ROUTED_ELSEWHERE
    return Outcome(
        status=Delivery.Status.ROUTED if routed else Delivery.Status.SKIPPED,
        attempt_outcome=(
            DeliveryAttempt.Outcome.ROUTED if routed else DeliveryAttempt.Outcome.SKIPPED
        ),
        error_kind=routing.kind,
        error_message=routing.reason,
    )
