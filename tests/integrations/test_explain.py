"""Errors in words: every error kind the pipeline records becomes a sentence staff act on
and a next step, never a bare kind or an exception class name."""

import pytest

from integrations.explain import (
    cause_key,
    cause_words,
    explain,
    infer_kind,
    normalise,
    parse_cause_key,
    same_version_warning,
)

# (kind, message, status) → words the sentence must contain, words the next step must contain
CASES = [
    ("validation", "Start date is required", None, "left Start date empty", "fallback"),
    (
        "validation",
        "Deadline: {due} matches no Tally field.",
        None,
        "stopped this before sending",
        "Fix this in the mapping",
    ),
    (
        "rejected",
        "Start date: The start date field is required.",
        422,
        "Tallyfy refused to launch the process (HTTP 422): Start date is required",
        "retry with the current version",
    ),
    ("rejected", "Tallyfy 422: The given data was invalid", 422, "The given data was invalid", ""),
    ("http_403", "Tallyfy 403: forbidden", 403, "refused Kickoff's access", "connection"),
    ("http_404", "Tallyfy 404: not found", 404, "could not find", "template"),
    ("http_409", "Tallyfy 409: conflict", 409, "HTTP 409", "Retry"),
    ("unavailable", "Tallyfy 503: Service Unavailable", 503, "unavailable (HTTP 503)", "by itself"),
    (
        "unavailable",
        "Tallyfy: could not connect (ConnectError) on POST /runs",
        None,
        "could not reach Tallyfy",
        "by itself",
    ),
    ("rate_limited", "Tallyfy 429: slow down (retrying in 30 s)", 429, "slow down", "Nothing"),
    (
        "outcome_unknown",
        "Tallyfy: no complete answer (RemoteProtocolError) on POST /runs (the run may exist)",
        None,
        "closed the connection before answering",
        "never launches twice",
    ),
    ("needs_reconnect", "The token was revoked. Held until…", None, "reconnected", "Reconnect"),
    ("needs_check", "Tallyfy may have created this run…", None, "may have made", "Look in Tallyfy"),
    (
        "gave_up",
        "Gave up after 8 tries; Tallyfy has no run carrying “kickoff-x-delivery-1”",
        None,
        "stopped trying",
        "fix it",
    ),
    ("internal", "KeyError: 'name'", None, "Kickoff itself hit an error", "report it"),
    ("worker_lost", "The worker stopped during this try", None, "worker stopped", "Nothing"),
    ("deadline_format", "Tallyfy refused the deadline format: x", 422, "deadline", "other format"),
    ("no_task", "No open task “Sign-off” in run r1", None, "task to complete", "Tallyfy"),
    ("no_rule_matched", "Category is Bug, not Billing", None, "No mapping", "condition"),
    ("routed_elsewhere", "“Billing intake” took it", None, "Another mapping", "Nothing to do"),
    ("warnings", "Deadline is in the past", None, "Sent, with a warning", "Check the result"),
]


@pytest.mark.parametrize(("kind", "message", "status", "says", "next_step"), CASES)
def test_each_error_kind_becomes_a_sentence_with_a_next_step(
    kind, message, status, says, next_step
):
    words = explain(kind, message, status)

    assert says in words.sentence
    assert next_step in words.next_step and words.next_step.endswith(".")
    assert words.summary
    for raw in ("outcome_unknown", "RemoteProtocolError", "ConnectError", "http_", "_"):
        assert raw not in words.sentence.replace("“kickoff-x-delivery-1”", "")


def test_a_task_completion_is_told_as_such():
    words = explain("rejected", "Notes: too long", 422, mapping_kind="complete_task")
    assert words.sentence.startswith("Tallyfy refused to complete the task (HTTP 422)")


def test_a_give_up_suffix_is_said_once_in_words():
    words = explain("unavailable", "Tallyfy 503: down (gave up after 8 tries)", 503)
    assert words.sentence.endswith("Kickoff gave up after 8 tries.")
    assert "(gave up" not in words.sentence


def test_the_kind_is_told_from_the_message_when_only_that_was_kept():
    assert infer_kind("Start date is required", None) == "validation"
    assert infer_kind("Tallyfy 422: invalid", 422) == "rejected"
    assert infer_kind("Tallyfy 502: bad gateway", 502) == "unavailable"
    assert infer_kind("Tallyfy: no complete answer (ReadTimeout) on POST /runs", None) == (
        "outcome_unknown"
    )
    assert explain("", "Tallyfy 429: slow", 429).kind == "rate_limited"


def test_retrying_the_current_version_is_warned_only_for_what_the_mapping_sends():
    warning = same_version_warning("rejected", version_current=True, version_number=3)
    assert "Version 3 is still the current one" in warning and "fails the same way" in warning
    assert same_version_warning("validation", version_current=False, version_number=3) == ""
    assert same_version_warning("unavailable", version_current=True, version_number=3) == ""


def test_one_cause_despite_ids_and_numbers_that_vary():
    a = cause_key("gave_up", None, "Gave up after 8 tries; no run carrying “kickoff-a-delivery-1”")
    b = cause_key("gave_up", None, "Gave up after 9 tries; no run carrying “kickoff-a-delivery-27”")
    other = cause_key("rejected", 422, "Start date: required")

    assert a == b != other
    assert parse_cause_key(other) == ("rejected", 422, normalise("Start date: required"))
    assert parse_cause_key("nonsense") is None
    assert cause_words(cause_key("validation", None, "Start date is required")) == (
        "Start date is required (not sent)"
    )
