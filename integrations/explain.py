"""Delivery errors in words staff act on: what went wrong, and the next step.

Pure (no ORM, no requests): the delivery page, the Deliveries list's error column and the
Overview's causes all read an error kind, its message and HTTP status through `explain`,
so a raw `outcome_unknown` or `RemoteProtocolError` never reaches a person on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Kinds whose retry with the same mapping version fails the same way: the problem is in
#: what the mapping sends, not in Tallyfy's health.
SAME_VERSION_FAILS = frozenset({"validation", "rejected"})

#: Kinds where nothing was sent to Tallyfy at all.
NOT_SENT = frozenset({"validation", "no_rule_matched", "routed_elsewhere"})

_GAVE_UP = re.compile(r"\s*\(gave up after (\d+) tries\)")
_TRANSPORT = re.compile(
    r"\((ReadTimeout|WriteTimeout|ReadError|WriteError|RemoteProtocolError|"
    r"ConnectError|ConnectTimeout|PoolTimeout)\)"
)
_REQUIRED = re.compile(
    r"^(?:(?P<label>[^:\n]+?): )?(?P<field>[^:\n]+?) (?:field )?is required\b", re.IGNORECASE
)
_VENDOR_PREFIX = re.compile(r"^(?:Tallyfy|Tally)(?: \d{3})?: ")
#: Ids, numbers and quoted references vary between deliveries failing for one cause.
_VARYING = re.compile(r"“[^”]*”|\"[^\"]*\"|\b[0-9a-f]{8,}\b|\d+", re.IGNORECASE)

_TRANSPORT_WORDS = {
    "ReadTimeout": "Tallyfy took too long to answer",
    "WriteTimeout": "the request took too long to send",
    "ReadError": "the connection broke while Tallyfy answered",
    "WriteError": "the connection broke while sending",
    "RemoteProtocolError": "Tallyfy closed the connection before answering",
    "ConnectError": "Kickoff could not reach Tallyfy",
    "ConnectTimeout": "Kickoff could not reach Tallyfy in time",
    "PoolTimeout": "Kickoff had no free connection to Tallyfy",
}


@dataclass(frozen=True)
class Explanation:
    """An error in words: `summary` (short, for lists and groups), `sentence` (what
    happened) and `next_step` (what staff do about it)."""

    kind: str
    summary: str
    sentence: str
    next_step: str
    detail: str = ""  # the message as recorded, for those who want the exact words

    @property
    def fails_same_way(self) -> bool:
        return self.kind in SAME_VERSION_FAILS

    @property
    def not_sent(self) -> bool:
        return self.kind in NOT_SENT


def first_line(message: str) -> str:
    return (message or "").strip().split("\n", 1)[0].strip()


def infer_kind(message: str, status: int | None) -> str:
    """The error kind of a delivery that only kept its last message and status (the list,
    the Overview): close enough to choose the words."""
    text = message or ""
    if not text and status is None:
        return ""
    if "Held until the Tallyfy connection is reconnected" in text:
        return "needs_reconnect"
    if "was already complete: nothing was saved" in text:
        return "already_complete"
    if "no complete answer" in text or "the run may exist" in text:
        return "outcome_unknown"
    if text.startswith("Gave up after"):
        return "gave_up"
    if status == 429:
        return "rate_limited"
    if status in (400, 422):
        return "rejected"
    if status is not None and status >= 500:
        return "unavailable"
    if status is not None:
        return f"http_{status}"
    if "could not connect" in text or "request not sent" in text:
        return "unavailable"
    return "validation"


def _who(mapping_kind: str) -> str:
    return "complete the task" if mapping_kind == "complete_task" else "launch the process"


def explain(
    kind: str,
    message: str,
    status: int | None = None,
    *,
    mapping_kind: str = "launch",
    version_current: bool | None = None,
) -> Explanation:
    """`kind` (DeliveryAttempt.error_kind; "" lets the message decide), the recorded
    `message` and HTTP `status`, in words with the next step.

    `version_current`: whether the delivery's mapping version is still the current one
    (None: unknown); it decides which retry the next step recommends.
    """
    kind = kind or infer_kind(message, status)
    message = (message or "").strip()
    gave_up = _GAVE_UP.search(message)
    core = _GAVE_UP.sub("", message).strip()
    line = _VENDOR_PREFIX.sub("", first_line(core))
    retry_current = (
        "then retry with the current version"
        if version_current is not False
        else "save a new version, then retry with the current version"
    )
    code = f" (HTTP {status})" if status else ""
    what = _who(mapping_kind)

    if kind == "validation":
        field = _required_field(line)
        if field:
            sentence = (
                f"This submission left {field} empty, but {field} is required in Tallyfy: "
                f"Kickoff did not send it."
            )
            summary = f"{field} is required (not sent)"
            step = (
                f"Give the rule for {field} a fallback or map an answer that is always "
                f"given, {retry_current}."
            )
        else:
            sentence = f"Kickoff's checks stopped this before sending: {line}"
            summary = f"{line} (not sent)"
            step = f"Fix this in the mapping, {retry_current}."
    elif kind == "rejected":
        field = _required_field(line)
        if field:
            sentence = (
                f"Tallyfy refused to {what}{code}: {field} is required and this "
                f"submission gave none."
            )
            summary = f"Tallyfy {status or ''} {field} is required".replace("  ", " ")
        else:
            sentence = f"Tallyfy refused to {what}{code}: {line}"
            summary = f"Tallyfy refused{code}: {line}"
        step = (
            f"Change the mapping so it sends what Tallyfy asks for "
            f"(a fallback, another field), {retry_current}."
        )
    elif kind == "rate_limited":
        sentence = "Tallyfy asked Kickoff to slow down (HTTP 429)."
        summary = "Tallyfy rate limit (HTTP 429)"
        step = "Nothing to do: Kickoff tries again when Tallyfy says it may."
    elif kind == "unavailable":
        transport = _TRANSPORT.search(message)
        reason = _TRANSPORT_WORDS[transport[1]] if transport else f"Tallyfy was unavailable{code}"
        sentence = f"{reason[:1].upper()}{reason[1:]}; nothing was made."
        summary = f"{reason[:1].upper()}{reason[1:]}"
        step = "Nothing to fix here: Kickoff retries by itself. Use Retry once Tallyfy is back."
    elif kind == "outcome_unknown":
        transport = _TRANSPORT.search(message)
        reason = (
            _TRANSPORT_WORDS[transport[1]]
            if transport
            else f"Tallyfy's answer{code} did not say whether it worked"
        )
        sentence = (
            f"{reason[:1].upper()}{reason[1:]}, so Kickoff cannot tell yet whether Tallyfy "
            f"made the run."
        )
        summary = f"No answer from Tallyfy ({reason})"
        step = (
            "Nothing to do: the next try looks for the run before launching, so it never "
            "launches twice."
        )
    elif kind == "needs_reconnect":
        sentence = f"The Tallyfy connection needs to be reconnected: {line}"
        summary = "Tallyfy connection needs reconnecting"
        step = "Reconnect it on the Connections page; held deliveries resume by themselves."
    elif kind == "needs_check":
        sentence = (
            "Tallyfy may have made this run: its answer to an earlier try never came and "
            "Kickoff could not find the run."
        )
        summary = "Needs a check: Tallyfy may have made the run"
        step = "Look in Tallyfy, then use the run it made, or launch if it made none."
    elif kind == "gave_up":
        sentence = f"Kickoff stopped trying: {line}"
        summary = "Gave up; no run was made"
        step = "Find why the earlier tries failed (below), fix it, then retry."
    elif kind == "internal":
        sentence = f"Kickoff itself hit an error ({line.split(':', 1)[0]})."
        summary = f"Kickoff error ({line.split(':', 1)[0]})"
        step = "Retry; if it happens again, report it with this delivery's number."
    elif kind == "worker_lost":
        sentence = "The worker stopped during this try (restarted or out of time)."
        summary = "Worker stopped mid-try"
        step = "Nothing to do: the next try looks for the run before launching."
    elif kind == "deadline_format":
        sentence = "Tallyfy refused the deadline's format; nothing was made."
        summary = "Tallyfy refused the deadline format"
        step = "Nothing to do: the next try sends the deadline in the other format."
    elif kind == "no_task":
        sentence = f"The task to complete could not be used: {line}"
        summary = f"Task not found or not open: {line}"
        step = "Check the run and its step in Tallyfy (open, not deleted), then retry."
    elif kind == "no_rule_matched":
        sentence = f"No mapping of this form takes this submission: {line}"
        summary = "No launch rule matched"
        step = (
            "If it should have launched, edit a mapping's condition, then retry with the "
            "current version."
        )
    elif kind == "routed_elsewhere":
        sentence = f"Another mapping of this form took this submission: {line}"
        summary = "Routed to another mapping"
        step = "Nothing to do, unless it belongs here: then edit the conditions and retry."
    elif kind == "already_complete":
        sentence = line
        summary = "Task already complete: answers not saved"
        step = (
            "If these answers matter, add them to the task in Tallyfy by hand; Kickoff never "
            "completes a task twice."
        )
    elif kind == "warnings":
        sentence = f"Sent, with a warning: {line}"
        summary = f"Sent with a warning: {line}"
        step = "Check the result in Tallyfy; edit the mapping to avoid it next time."
    elif kind.startswith("http_"):
        status = status or _int(kind[5:])
        sentence, summary, step = _http(status, line, what)
    else:
        sentence = line or "Something went wrong."
        summary = line or kind or "Unknown error"
        step = "Retry; if it fails again, read the request and answer below."
    if gave_up:
        sentence = f"{sentence} Kickoff gave up after {gave_up[1]} tries."
    return Explanation(
        kind=kind, summary=summary, sentence=sentence, next_step=step, detail=message
    )


def _required_field(line: str) -> str:
    """The field a "… is required" message names ("Start date: The start date field is
    required." names Start date), or ""."""
    found = _REQUIRED.match(line)
    if not found:
        return ""
    return (found["label"] or found["field"]).strip()


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _http(status: int | None, line: str, what: str) -> tuple[str, str, str]:
    if status in (401, 403):
        return (
            f"Tallyfy refused Kickoff's access (HTTP {status}): {line}",
            f"Tallyfy refused access (HTTP {status})",
            "Check the Tallyfy connection and its member's permissions, then retry.",
        )
    if status == 404:
        return (
            f"Tallyfy could not find what Kickoff asked for (HTTP 404): {line}",
            "Tallyfy: not found (HTTP 404)",
            "Check the mapping's template (or run) still exists in Tallyfy, then retry.",
        )
    return (
        f"Tallyfy answered HTTP {status} and did not {what}: {line}",
        f"Tallyfy HTTP {status}: {line}",
        "Retry; if it fails again, read Tallyfy's answer below.",
    )


def same_version_warning(kind: str, *, version_current: bool, version_number: int | None) -> str:
    """The warning shown by Retry when retrying the same version would fail the same way."""
    if kind not in SAME_VERSION_FAILS or not version_current:
        return ""
    return (
        f"Version {version_number} is still the current one: a retry without editing the "
        f"mapping fails the same way."
    )


# --- causes: failures grouped by what went wrong -------------------------------------------


def normalise(message: str) -> str:
    """The first line of a message without what varies between deliveries failing for the
    same reason (ids, numbers, quoted values), lower-cased: one cause, one text."""
    line = _GAVE_UP.sub("", first_line(message))
    line = _VARYING.sub("#", line)
    return re.sub(r"\s+", " ", line).strip().lower()[:200]


def cause_key(kind: str, status: int | None, message: str) -> str:
    """A readable key for a cause (the Deliveries page's `cause` filter)."""
    kind = kind or infer_kind(message, status)
    return f"{kind}|{status or ''}|{normalise(message)}"


def parse_cause_key(key: str) -> tuple[str, int | None, str] | None:
    parts = (key or "").split("|", 2)
    if len(parts) != 3 or not parts[0]:
        return None
    kind, status, text = parts
    if status and not status.isdigit():
        return None
    return kind, int(status) if status else None, text


def cause_words(key: str) -> str:
    """A cause key in words (its summary), "" for a key that is not one."""
    parsed = parse_cause_key(key)
    if parsed is None:
        return ""
    kind, status, text = parsed
    return explain(kind, text[:1].upper() + text[1:], status).summary
