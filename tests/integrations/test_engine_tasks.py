"""Completing a task from a follow-up form (issue #15), engine side: captures filled like a
launch's kick-off fields, the approval decision, the mapping's checks, run matching and the
follow-up link."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.engine import (
    APPROVAL,
    UNDECIDED,
    ApprovalRule,
    FieldRule,
    MappingSpec,
    build_launch,
    build_task,
    followup_link,
    match_runs,
    validate_task_spec,
)
from integrations.tally.answers import Answer, ChoiceOption, answers_from_questions
from integrations.tallyfy.shapes import Column, KickoffField, Option

CHECKLIST = "c" * 32


def capture(field_type, id, *, label="Field", required=False, options=(), columns=()):
    return KickoffField(
        id=id,
        alias=None,
        label=label,
        field_type=field_type,
        required=required,
        position=1,
        options=list(options),
        columns=list(columns),
    )


def spec(*rules, approval=None):
    return MappingSpec(
        checklist_id=CHECKLIST, name_template="", rules=tuple(rules), approval=approval
    )


def codes(problems):
    return [p.code for p in problems]


STATUS = [Option(1, "Not started"), Option(2, "In progress"), Option(3, "Done")]
TALLY_STATUS = (ChoiceOption("s1", "not started"), ChoiceOption("s2", "In progress"))
TALLY_PICKS = (ChoiceOption("p1", "Done"), ChoiceOption("p2", "In progress"))
DECISION_OPTIONS = (
    ChoiceOption("d1", "Approve"),
    ChoiceOption("d2", "Reject"),
    ChoiceOption("d3", "Maybe"),
)

ANSWERS = [
    Answer("question_t", "Estimate", "INPUT_NUMBER", 12.0),
    Answer("question_l", "Notes", "TEXTAREA", "Line one\nLine two"),
    Answer("question_e", "Email", "INPUT_EMAIL", " Ana@Example.com "),
    Answer("question_d", "Due", "INPUT_DATE", "2025-03-01"),
    Answer("question_r", "Status", "MULTIPLE_CHOICE", ["s2"], TALLY_STATUS),
    Answer("question_m", "Picks", "CHECKBOXES", ["p2", "p1"], TALLY_PICKS),
    Answer(
        "question_f",
        "Upload",
        "FILE_UPLOAD",
        [{"id": "x", "name": "a.png", "url": "https://files.example/a.png"}],
    ),
]

# One capture of every Tallyfy field type, each with a rule, and what Tallyfy must receive.
CASES = [
    ("text", "question_t", {}, "12"),
    ("textarea", "question_l", {}, "Line one\nLine two"),
    ("email", "question_e", {}, "Ana@Example.com"),
    ("date", "question_d", {}, "2025-03-01T00:00:00.000Z"),
    ("radio", "question_r", {"options": STATUS}, "In progress"),
    ("dropdown", "question_r", {"options": STATUS}, {"id": 2, "text": "In progress"}),
    (
        "multiselect",
        "question_m",
        {"options": STATUS},
        [
            {"id": 2, "text": "In progress", "selected": True},
            {"id": 3, "text": "Done", "selected": True},
        ],
    ),
    (
        "file",
        "question_f",
        {},
        [{"filename": "a.png", "source": "url", "url": "https://files.example/a.png"}],
    ),
    (
        "assignees_form",
        "question_e",
        {},
        {"users": [], "guests": ["Ana@Example.com"], "groups": []},
    ),
]


@pytest.mark.parametrize(("field_type", "key", "extra", "expected"), CASES)
def test_each_capture_type_gets_the_value_shape_a_launch_would_send(
    field_type, key, extra, expected
):
    field = capture(field_type, "a" * 32, **extra)
    rules = (FieldRule(field.id, source_key=key),)

    plan = build_task(spec(*rules), ANSWERS, [field])
    launched = build_launch(spec(*rules), ANSWERS, [field])

    assert plan.values == {field.id: expected}
    assert plan.values == launched.body["prerun"]  # one encoder for both, never two
    assert plan.problems == []
    assert plan.is_approved is None  # not an approval step: no decision sent


def test_a_table_capture_gets_one_entry_per_column():
    matrix = Answer(
        "question_x",
        "Rating",
        "MATRIX",
        {"r1": ["c1"]},
        rows=(ChoiceOption("r1", "Quality"),),
        columns=(ChoiceOption("c1", "Good"),),
    )
    field = capture("table", "a" * 32, columns=[Column(1, "Quality")])

    plan = build_task(spec(FieldRule(field.id, source_key="question_x")), [matrix], [field])

    assert (
        plan.values
        == build_launch(spec(FieldRule(field.id, source_key="question_x")), [matrix], [field]).body[
            "prerun"
        ]
    )
    assert field.id in plan.values


def test_a_required_capture_left_empty_blocks_the_completion():
    notes = capture("text", "a" * 32, label="Estimate", required=True)
    blank = [Answer("question_t", "Estimate", "INPUT_TEXT", None)]

    plan = build_task(spec(FieldRule(notes.id, source_key="question_t")), blank, [notes])

    assert plan.values == {}
    assert [(p.code, p.message) for p in plan.problems] == [("required", "Estimate is required")]
    assert plan.blocking


def test_a_required_capture_takes_the_default_and_constants_and_templates_work():
    a, b, c = (capture("text", x * 32, required=True) for x in "abc")
    blank = [Answer("question_t", "Estimate", "INPUT_TEXT", None)]
    rules = (
        FieldRule(a.id, source_key="question_t", default="n/a"),
        FieldRule(b.id, source="constant", constant="fixed"),
        FieldRule(c.id, source="template", template="By {submission_id}"),
    )

    plan = build_task(spec(*rules), blank, [a, b, c], context={"submission_id": "S1"})

    assert plan.values == {a.id: "n/a", b.id: "fixed", c.id: "By S1"}
    assert plan.problems == []


def test_a_rule_for_a_capture_the_step_lacks_warns_and_sends_nothing():
    field = capture("text", "a" * 32, label="Estimate")
    rules = (FieldRule("Estimate", source_key="question_t"),)

    plan = build_task(spec(*rules), ANSWERS, [field])

    assert plan.values == {}
    assert codes(plan.problems) == ["unknown_field"]
    assert "Tallyfy only accepts the field id" in plan.problems[0].message
    assert not plan.blocking


# --- The approval decision -------------------------------------------------------------------

RULE = ApprovalRule("question_a", approve=("Approve",), reject=("Reject",))


def decision(value, *, type="MULTIPLE_CHOICE", options=DECISION_OPTIONS):
    return [Answer("question_a", "Decision", type, value, options)]


def decide(answers, rule=RULE):
    return build_task(spec(approval=rule), answers, [], is_approval=True)


@pytest.mark.parametrize(("chosen", "approved"), [(["d1"], True), (["d2"], False)])
def test_the_chosen_option_approves_or_rejects(chosen, approved):
    plan = decide(decision(chosen))

    assert plan.is_approved is approved
    assert plan.problems == []


def test_an_option_neither_approving_nor_rejecting_blocks_in_words_staff_act_on():
    plan = decide(decision(["d3"]))

    assert plan.is_approved is None
    assert [(p.field_id, p.code, p.message) for p in plan.problems] == [
        (
            APPROVAL,
            UNDECIDED,
            "Decision is “Maybe”: it is neither an approve answer (Approve) "
            "nor a reject answer (Reject).",
        )
    ]
    assert plan.blocking


@pytest.mark.parametrize("value", [None, [], "  "])
def test_a_blank_decision_blocks(value):
    plan = decide(decision(value, type="INPUT_TEXT", options=()))

    assert plan.is_approved is None
    assert codes(plan.blocking) == [UNDECIDED]
    assert "blank" in plan.problems[0].message


def test_a_missing_decision_question_blocks_even_though_a_missing_capture_only_warns():
    plan = decide([])

    assert plan.is_approved is None
    assert codes(plan.blocking) == [UNDECIDED]
    assert "'question_a' is not in this submission" in plan.problems[0].message


def test_an_approval_step_without_a_rule_blocks():
    plan = decide(decision(["d1"]), rule=None)

    assert plan.is_approved is None
    assert codes(plan.blocking) == [UNDECIDED]


def test_an_answer_in_both_lists_blocks_rather_than_guessing():
    both = ApprovalRule("question_a", approve=("Approve", "Maybe"), reject=("reject", "maybe"))

    plan = decide(decision(["d3"]), rule=both)

    assert plan.is_approved is None
    assert codes(plan.blocking) == [UNDECIDED]
    assert "both an approve answer (Approve, Maybe)" in plan.problems[0].message


def test_rule_entries_match_option_ids_and_text_loosely():
    by_id = ApprovalRule("question_a", approve=("d1",), reject=("d2",))
    loose = ApprovalRule("question_a", approve=("  APPROVE ",), reject=("reject",))

    assert decide(decision(["d1"]), rule=by_id).is_approved is True
    assert decide(decision(["d2"]), rule=loose).is_approved is False
    # A message shows an id entry as its option's text, the words staff see on the form.
    assert "(Approve) nor a reject answer (Reject)" in (
        decide(decision(["d3"]), rule=by_id).problems[0].message
    )


def test_a_text_answer_is_compared_by_its_display_text():
    assert decide(decision(" approve ", type="INPUT_TEXT", options=())).is_approved is True
    assert decide(decision("Nope", type="INPUT_TEXT", options=())).is_approved is None


def test_a_multi_select_decides_by_any_chosen_option_and_blocks_on_both():
    checkboxes = dict(type="CHECKBOXES")

    assert decide(decision(["d3", "d1"], **checkboxes)).is_approved is True
    assert decide(decision(["d3", "d2"], **checkboxes)).is_approved is False
    both = decide(decision(["d1", "d2"], **checkboxes))
    assert both.is_approved is None
    assert "Decision is “Approve, Reject”: it is both" in both.problems[0].message


def test_a_decision_rule_is_ignored_on_a_step_that_is_no_approval():
    plan = build_task(spec(approval=RULE), decision(["d3"]), [])

    assert plan.is_approved is None
    assert plan.problems == []


# --- Checks before any submission ------------------------------------------------------------

DECISION_SOURCE = Answer("question_a", "Decision", "MULTIPLE_CHOICE", None, DECISION_OPTIONS)
ESTIMATE_SOURCE = Answer("question_t", "Estimate", "INPUT_NUMBER", None)


def check(rule=RULE, *, rules=(), captures=(), sources=(DECISION_SOURCE,), is_approval=True):
    return validate_task_spec(
        spec(*rules, approval=rule), list(captures), list(sources), is_approval=is_approval
    )


def test_an_approval_step_needs_a_decision_rule():
    problems = check(rule=None)

    assert codes(problems) == [UNDECIDED]
    assert problems[0].blocking


def test_a_decision_question_gone_from_the_form_is_reported():
    problems = check(sources=(ESTIMATE_SOURCE,))

    assert codes(problems) == ["unknown_source"]
    assert problems[0].blocking


def test_every_option_of_the_question_in_neither_list_is_named():
    problems = check()

    assert [(p.code, p.message, p.blocking) for p in problems] == [
        (
            "undecided_option",
            "Approval: “Maybe” neither approves nor rejects: such a submission will fail.",
            False,
        )
    ]


def test_entries_that_are_no_option_of_the_question_warn():
    rule = ApprovalRule("question_a", approve=("Approve", "Yes"), reject=("d2", "d3"))

    problems = check(rule)

    assert [(p.code, p.blocking) for p in problems] == [("unknown_decision", False)]
    assert "“Yes” is not an option of Decision" in problems[0].message


def test_an_entry_in_both_lists_or_no_entries_at_all_block():
    both = check(
        ApprovalRule("question_a", approve=("Approve", "Maybe"), reject=("Reject", "maybe"))
    )
    empty = check(ApprovalRule("question_a"))

    assert [p.code for p in both if p.blocking] == ["invalid"]
    assert "“Maybe” is both an approve and a reject answer" in both[0].message
    assert codes(empty) == ["invalid"]


def test_a_text_question_decides_without_option_checks():
    text = Answer("question_a", "Decision", "INPUT_TEXT", None)

    assert check(ApprovalRule("question_a", approve=("yes",), reject=("no",)), sources=[text]) == []


def test_capture_rules_are_checked_as_launch_rules_and_no_approval_is_asked_of_a_plain_step():
    required = capture("text", "a" * 32, label="Estimate", required=True)
    missing = FieldRule("b" * 32, source_key="question_t")

    problems = check(None, rules=[missing], captures=[required], is_approval=False)

    assert codes(problems) == ["unknown_field", "required"]


def test_a_sound_task_mapping_from_form_questions_has_no_problems():
    sources = answers_from_questions(
        [
            {
                "id": "a",
                "type": "MULTIPLE_CHOICE",
                "title": "Decision",
                "fields": [
                    {"uuid": "d1", "type": "MULTIPLE_CHOICE_OPTION", "title": "Approve"},
                    {"uuid": "d2", "type": "MULTIPLE_CHOICE_OPTION", "title": "Reject"},
                ],
            }
        ]
    )
    rule = ApprovalRule("question_a", approve=("Approve",), reject=("Reject",))

    problems = validate_task_spec(spec(approval=rule), [], sources, is_approval=True)

    assert problems == []


# --- Which run a follow-up completes ----------------------------------------------------------

REF = "f" * 32


@dataclass
class FakeRun:
    id: str
    prerun: Any
    created_at: datetime | None = None


def at(day):
    return datetime(2025, 3, day, tzinfo=UTC)


def test_runs_match_by_the_kick_off_value_loosely_newest_first():
    runs = [
        FakeRun("old", {REF: "ACME Ltd"}, at(1)),
        FakeRun("other", {REF: "Globex"}, at(3)),
        FakeRun("new", {REF: "  acme ltd "}, at(2)),
        FakeRun("undated", {REF: "Acme Ltd"}),
        FakeRun("no-field", {"e" * 32: "Acme Ltd"}, at(4)),
    ]

    found = match_runs(runs, field_id=REF, answer_text="Acme Ltd")

    assert [r.id for r in found] == ["new", "old", "undated"]


def test_runs_echoing_a_list_of_fields_and_choice_values_match_by_text():
    runs = [
        FakeRun("list", [{"id": REF, "label": "Client", "value": "Acme"}], at(1)),
        FakeRun("dropdown", {REF: {"id": 7, "text": "acme"}}, at(2)),
        FakeRun(
            "multiselect",
            {REF: [{"id": 8, "text": "Other"}, {"id": 7, "text": "Acme", "selected": True}]},
            at(3),
        ),
        FakeRun("unselected", {REF: [{"id": 7, "text": "Acme", "selected": False}]}, at(4)),
    ]

    found = match_runs(runs, field_id=REF, answer_text="ACME")

    assert [r.id for r in found] == ["multiselect", "dropdown", "list"]


def test_an_email_matches_after_trim_and_case_only():
    runs = [
        FakeRun("yes", {REF: "Ana@Example.com"}, at(1)),
        FakeRun("no", {REF: "ana@example.co"}, at(2)),
    ]

    assert [r.id for r in match_runs(runs, field_id=REF, answer_text=" ana@EXAMPLE.com")] == ["yes"]


def test_no_run_matches_a_blank_answer_or_a_value_nobody_has():
    runs = [FakeRun("blank", {REF: ""}, at(1)), FakeRun("acme", {REF: "Acme"}, at(2))]

    assert match_runs(runs, field_id=REF, answer_text="  ") == []
    assert match_runs(runs, field_id=REF, answer_text="Initech") == []
    assert match_runs([], field_id=REF, answer_text="Acme") == []


def test_the_followup_link_prefills_hidden_fields_encoded_and_leaves_out_empty_ones():
    link = followup_link(
        "https://tally.so/r/",
        "wMq9vX",
        {"kickoff_ref": "kickoff-42 & co/é", "run_id": "r" * 32, "task_id": "", "x": None},
    )

    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://tally.so/r/wMq9vX"
    assert parse_qs(parts.query) == {"kickoff_ref": ["kickoff-42 & co/é"], "run_id": ["r" * 32]}
    assert "%20" in parts.query and "+" not in parts.query
    assert followup_link("https://tally.so/r", "wMq9vX", {"run_id": ""}) == (
        "https://tally.so/r/wMq9vX"
    )


# --- The launch is unchanged by sharing its field filling -------------------------------------


def test_build_launch_body_and_problem_order_are_unchanged():
    a = capture("text", "a" * 32, label="Estimate", required=True)
    b = capture("dropdown", "b" * 32, label="Status", options=STATUS)
    c = capture("email", "c" * 32, label="Email", required=True)
    rules = (
        FieldRule("Status", source_key="question_r"),  # by label: unknown target
        FieldRule(b.id, source_key="question_r"),
        FieldRule(b.id, source_key="question_t"),  # twice: the first rule wins
        FieldRule(a.id, source_key="question_gone"),
    )
    launch_spec = MappingSpec(checklist_id=CHECKLIST, name_template="Job {Estimate}", rules=rules)

    plan = build_launch(launch_spec, ANSWERS, [a, b, c])

    assert plan.body == {
        "checklist_id": CHECKLIST,
        "name": "Job 12",
        "prerun": {b.id: {"id": 2, "text": "In progress"}},
    }
    assert [(p.field_id, p.code) for p in plan.problems] == [
        ("Status", "unknown_field"),
        (b.id, "duplicate"),
        (a.id, "missing_source"),
        (a.id, "required"),
        (c.id, "required"),
    ]
