"""The engine's rules one by one: a field mapped twice, one builder row checked on its own,
and placeholders that render exactly when the checks say they exist."""

import pytest

from integrations.engine import (
    CONTEXT_PLACEHOLDERS,
    FieldRule,
    MappingSpec,
    build_launch,
    render_template,
    validate_rule,
    validate_rules,
    validate_spec,
)
from integrations.tally.answers import Answer, answers_from_questions
from integrations.tallyfy.shapes import KickoffField

COMPANY = "a" * 32
QUESTIONS = [
    {"id": "name", "type": "INPUT_TEXT", "title": "Company name", "fields": []},
    {"id": "plan", "type": "INPUT_TEXT", "title": "Plan", "fields": []},
    {"id": "plan2", "type": "INPUT_TEXT", "title": "plan ", "fields": []},
    {"id": "size", "type": "INPUT_TEXT", "title": "Size", "fields": []},
    {"id": "size2", "type": "INPUT_TEXT", "title": "Size", "fields": []},
    {"id": "grid", "type": "MATRIX", "title": "Grid", "fields": []},
]
SOURCES = answers_from_questions(QUESTIONS)


def company(*, required=False, field_type="text"):
    return KickoffField(
        id=COMPANY,
        alias=None,
        label="Company",
        field_type=field_type,
        required=required,
        position=1,
    )


# --- A field mapped twice ----------------------------------------------------------------


def test_a_field_mapped_twice_gets_the_first_rules_value_and_blocks_the_launch():
    spec = MappingSpec(
        checklist_id="c" * 32,
        name_template="Launch",
        rules=(
            FieldRule(COMPANY, source="constant", constant="Acme"),
            FieldRule(COMPANY, source="constant", constant="Globex"),
        ),
    )

    plan = build_launch(spec, [], [company()])

    assert plan.body["prerun"] == {COMPANY: "Acme"}
    assert [(p.code, p.message) for p in plan.problems] == [
        ("duplicate", "Company is mapped twice; the first rule is used.")
    ]
    assert not plan.ok


# --- One builder row ----------------------------------------------------------------------


def test_a_required_row_left_empty_is_reported():
    problems = validate_rule(company(required=True), None, SOURCES)

    assert [p.code for p in problems] == ["required"]
    assert problems[0].message.startswith("Company is required")


def test_an_optional_row_left_empty_is_fine():
    assert validate_rule(company(), None, SOURCES) == []


def test_a_row_reports_its_own_problems_and_nothing_about_the_process_name():
    incompatible = validate_rule(
        company(required=True, field_type="table"),
        FieldRule(COMPANY, source_key="question_name"),
        SOURCES,
    )
    unknown = validate_rule(
        company(), FieldRule(COMPANY, source="template", template="{Nope} {submission_id}"), SOURCES
    )

    assert [p.code for p in incompatible] == ["incompatible"]
    assert [(p.field_id, p.code) for p in unknown] == [(COMPANY, "unknown_placeholder")]


def test_a_row_with_a_sound_rule_has_no_problem():
    rule = FieldRule(COMPANY, source_key="question_name")

    assert validate_rule(company(required=True), rule, SOURCES) == []


def test_rows_are_checked_like_the_whole_mapping_without_name_and_summary():
    rules = (FieldRule(COMPANY, source_key="question_gone"), FieldRule("b" * 32))
    spec = MappingSpec(checklist_id="c" * 32, name_template="{Nope}", rules=rules)
    fields = [company(required=True)]

    whole = validate_spec(spec, fields, SOURCES)

    assert validate_rules(rules, fields, SOURCES) == [p for p in whole if p.field_id != "name"]
    assert [p.code for p in whole] == [
        "unknown_source",
        "unknown_field",
        "required",
        "unknown_placeholder",
    ]


# --- Placeholders -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, known",
    [
        ("question_name", True),  # a field key
        ("Company name", True),  # a unique label
        ("company NAME", True),  # ... case-insensitively
        ("submission_id", True),  # a context key
        ("Size", False),  # a label two fields share
        ("Plan", True),  # exact beats loose
        ("PLAN", False),  # loosely, two fields share it
        ("Nope", False),
    ],
)
def test_a_placeholder_renders_exactly_when_the_checks_call_it_known(name, known):
    answers = [Answer(s.key, s.label, s.type, f"<{s.key}>") for s in SOURCES]
    context = dict.fromkeys(CONTEXT_PLACEHOLDERS, "ctx")
    spec = MappingSpec(checklist_id="c" * 32, name_template=f"{{{name}}}", rules=())

    text, unknown = render_template(f"{{{name}}}", answers, context)
    checked = validate_spec(spec, [], SOURCES)

    assert (unknown == []) is known
    assert (checked == []) is known
    assert (text != "") is known


@pytest.mark.parametrize("target", ["radio", "dropdown", "multiselect"])
def test_a_choice_whose_options_no_source_names_blocks_and_never_fits(target):
    from integrations.engine import OPTIONS_UNKNOWN
    from integrations.tally.answers import ChoiceOption

    field = company(field_type=target)
    rule = FieldRule(target_field_id=COMPANY, source="field", source_key="question_tier")
    unknown = [Answer("question_tier", "Tier", "DROPDOWN", None)]
    problems = validate_rule(field, rule, unknown)
    assert [(p.code, p.blocking) for p in problems] == [(OPTIONS_UNKNOWN, True)]
    assert "Options unknown — submit the form once, or set a constant" in problems[0].message
    # The same rule once a source names the options: checked like any other choice.
    known = [
        Answer("question_tier", "Tier", "DROPDOWN", None, options=(ChoiceOption("t1", "Gold"),))
    ]
    assert all(p.code != OPTIONS_UNKNOWN for p in validate_rule(field, rule, known))
    # A text field takes the answer's text, whatever the options: nothing to block.
    assert validate_rule(company(), rule, unknown) == []
