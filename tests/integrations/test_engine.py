"""The mapping engine: Tally's all-types webhook example -> Tallyfy launch bodies, with the
value shapes of docs/vendor-notes.md ("Launch" table)."""

import json

import pytest

from integrations.engine import (
    COMPATIBLE,
    FALLBACK_NAME,
    FieldRule,
    MappingSpec,
    auto_match_options,
    build_launch,
    compatible_sources,
    drift,
    find_marker,
    render_template,
    validate_spec,
)
from integrations.tally.answers import (
    TALLY_TYPES,
    Answer,
    ChoiceOption,
    answers_from_questions,
    answers_from_webhook,
)
from integrations.tallyfy.shapes import FIELD_TYPES, Column, KickoffField, Option
from tests.fixtures import TALLY_ALL_TYPES

FIXTURE = TALLY_ALL_TYPES
CHECKLIST = "c" * 32
FIELD = "f" * 32

HIDDEN = "question_mVGEg3_8b5711e3-f6a2-4e25-9e68-5d730598c681"
SCORE = "question_nPpjVn_84b69d73-0a85-4577-89f4-8632632cc222"
IN_PROGRESS = "e7bfbbc6-c2e6-4821-8670-72ed1cb31cd5"


@pytest.fixture(scope="module")
def answers():
    return answers_from_webhook(json.loads(FIXTURE.read_text()))


def kickoff(
    field_type, *, id=FIELD, label="Field", required=False, options=(), columns=(), alias=None
):
    return KickoffField(
        id=id,
        alias=alias,
        label=label,
        field_type=field_type,
        required=required,
        position=1,
        options=list(options),
        columns=list(columns),
    )


def spec(*rules, name="Launch", **extra):
    return MappingSpec(checklist_id=CHECKLIST, name_template=name, rules=tuple(rules), **extra)


def launch(answers, field, key=None, **rule):
    plan = build_launch(spec(FieldRule(field.id, source_key=key or "", **rule)), answers, [field])
    return plan.body["prerun"].get(field.id), plan.problems


def codes(problems):
    return [p.code for p in problems]


# --- The body --------------------------------------------------------------------------


def test_it_builds_exactly_the_tallyfy_launch_body(answers):
    field = kickoff("text")
    plan = build_launch(
        spec(
            FieldRule(FIELD, source_key="question_3EKz4n"),
            name="Onboarding \u2013 {question_3EKz4n}",
            tags=("t1",),
            folders=("f1",),
            owner_id=12,
            marker="kickoff:42",
        ),
        answers,
        [field],
    )

    assert plan.body == {
        "checklist_id": CHECKLIST,
        "name": "Onboarding \u2013 Hello",
        "summary": "Kickoff reference: kickoff:42",
        "prerun": {FIELD: "Hello"},
        "tags": ["t1"],
        "folders": ["f1"],
        "owner_id": 12,
    }
    assert plan.ok


def test_it_leaves_out_tags_folders_owner_and_summary_when_unset(answers):
    body = build_launch(spec(), answers, []).body

    assert body == {"checklist_id": CHECKLIST, "name": "Launch", "prerun": {}}


def test_it_keys_prerun_by_field_id_never_by_label_or_alias(answers):
    field = kickoff("text", label="Company", alias="company")
    plan = build_launch(spec(FieldRule("Company", source_key="question_3EKz4n")), answers, [field])

    assert plan.body["prerun"] == {}
    assert codes(plan.problems) == ["unknown_field"]
    assert "only accepts the field id" in plan.problems[0].message


def test_it_appends_the_marker_to_the_summary_where_find_marker_reads_it_back(answers):
    plan = build_launch(
        spec(summary_template="Campaign: {utm_campaign}", marker="kickoff:7f3a"), answers, []
    )

    assert plan.body["summary"] == "Campaign: newsletter\n\nKickoff reference: kickoff:7f3a"
    assert find_marker(plan.body["summary"]) == "kickoff:7f3a"
    assert find_marker("no marker here") is None


# --- Name and placeholders -------------------------------------------------------------


def test_it_renders_placeholders_by_field_key_and_by_unique_label(answers):
    name = build_launch(spec(name="{Text} / {question_nr5yNw} / {Dropdown}"), answers, []).body[
        "name"
    ]

    assert name == "Hello / 10 / Hard"


def test_it_renders_context_placeholders_and_literal_braces(answers):
    plan = build_launch(
        spec(name="{{ref}} {submission_id}"), answers, [], context={"submission_id": "2wgx4n"}
    )

    assert plan.body["name"] == "{ref} 2wgx4n"


def test_it_reports_unknown_and_ambiguous_placeholders_without_blocking(answers):
    twice = [*answers, Answer("question_other", "Text", "INPUT_TEXT", "Other")]

    plan = build_launch(spec(name="A{Text}B{nope}"), twice, [])

    assert plan.body["name"] == "AB"
    assert codes(plan.problems) == ["unknown_placeholder", "unknown_placeholder"]
    assert plan.ok


def test_it_always_sends_a_name(answers):
    plan = build_launch(spec(name="{question_3EKz4n_missing}  "), answers, [])

    assert plan.body["name"] == FALLBACK_NAME


def test_it_cuts_a_long_name_to_550_characters_with_a_visible_ellipsis(answers):
    plan = build_launch(spec(name="x" * 600), answers, [])

    assert len(plan.body["name"]) == 550
    assert plan.body["name"].endswith("…")
    assert codes(plan.problems) == ["truncated"]


def test_it_renders_a_template_rule_into_a_text_field(answers):
    value, problems = launch(
        answers, kickoff("text"), source="template", template="{Text} ({Phone number})"
    )

    assert value == "Hello (+32491223344)"
    assert problems == []


def test_render_template_lists_what_it_could_not_fill(answers):
    assert render_template("{a}-{Text}", answers) == ("-Hello", ["a"])


# --- Text, textarea --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("question_3EKz4n", "Hello"),
        ("question_nr5yNw", "10"),
        ("question_3jZaa3", "+32491223344"),
        ("question_w2XEjm", "example.com"),
        ("question_3xrXrn", "2023-06-28"),
        ("question_mZ8jow", "12:00"),
        ("question_3Nrpl3", "Hello world"),
        ("question_3qL4Gm", "In progress"),
        ("question_wQ1K7w", "Swimming, Skiing"),
        ("question_w7qRZm", "Pear, Apple, Banana"),
        (HIDDEN, "newsletter"),
        (SCORE, "20"),
        ("question_wa9QBw_price", "9"),
        ("question_m6L8kw", "4"),
        ("question_wbq5L3", "7"),
    ],
)
def test_it_sends_text_like_answers_to_a_text_field_as_their_display_text(answers, key, expected):
    value, problems = launch(answers, kickoff("text"), key)

    assert value == expected
    assert problems == []


def test_it_cuts_text_over_200_characters_with_an_ellipsis_and_a_warning():
    long = [Answer("question_a", "Bio", "TEXTAREA", "y" * 250)]

    value, problems = launch(long, kickoff("text", label="Bio"), "question_a")

    assert len(value) == 200
    assert value.endswith("…")
    assert codes(problems) == ["truncated"]
    assert not problems[0].blocking
    assert problems[0].severity == "warning"


def test_it_keeps_textarea_up_to_30000_characters():
    long = [Answer("question_a", "Bio", "TEXTAREA", "y" * 30_000)]

    value, problems = launch(long, kickoff("textarea"), "question_a")

    assert value == "y" * 30_000
    assert problems == []


def test_it_writes_a_matrix_and_files_on_separate_lines_in_a_textarea(answers):
    matrix, _ = launch(answers, kickoff("textarea"), "question_mBazQn")
    upload, _ = launch(answers, kickoff("textarea"), "question_nW2ONw")

    assert matrix == "Quality: Satisfied\nSpeed: Neutral"
    assert upload.startswith("Tally_Icon.png: https://storage.googleapis.com/")


def test_it_sends_zero_false_and_empty_string_instead_of_dropping_them():
    falsy = [
        Answer("question_n", "N", "INPUT_NUMBER", 0),
        Answer("question_b", "B", "CALCULATED_FIELDS", False),
        Answer("question_s", "S", "INPUT_TEXT", ""),
    ]

    assert launch(falsy, kickoff("text"), "question_n")[0] == "0"
    assert launch(falsy, kickoff("text"), "question_b")[0] == "No"
    assert launch(falsy, kickoff("text"), "question_s")[0] == ""


# --- Email -----------------------------------------------------------------------------


def test_it_sends_a_valid_email_as_a_string():
    value, problems = launch(
        [Answer("question_e", "Email", "INPUT_EMAIL", " ana@example.com ")],
        kickoff("email"),
        "question_e",
    )

    assert value == "ana@example.com"
    assert problems == []


def test_it_blocks_the_fixtures_obfuscated_email_as_invalid(answers):
    # Tally's published example went through Cloudflare's email obfuscation.
    value, problems = launch(answers, kickoff("email", label="Email"), "question_w4Q4Xn")

    assert value is None
    assert codes(problems) == ["invalid"]
    assert problems[0].blocking


# --- Date ------------------------------------------------------------------------------


def test_it_sends_a_tally_date_as_iso_8601_utc_midnight(answers):
    value, problems = launch(answers, kickoff("date"), "question_3xrXrn")

    assert value == "2023-06-28T00:00:00.000Z"
    assert problems == []


def test_it_converts_an_offset_date_time_from_a_hidden_field_to_utc():
    hidden = [Answer("question_h", "when", "HIDDEN_FIELDS", "2025-03-01T10:30:00+02:00")]

    assert launch(hidden, kickoff("date"), "question_h")[0] == "2025-03-01T08:30:00.000Z"


def test_it_pads_years_before_1000():
    old = [Answer("question_d", "Day", "INPUT_DATE", "0999-01-01")]

    assert launch(old, kickoff("date"), "question_d")[0] == "0999-01-01T00:00:00.000Z"


def test_it_reports_a_date_that_does_not_exist():
    bad = [Answer("question_d", "Day", "INPUT_DATE", "2023-02-30")]

    value, problems = launch(bad, kickoff("date"), "question_d")

    assert value is None
    assert codes(problems) == ["invalid"]


# --- Radio, dropdown, multiselect ------------------------------------------------------

STATUS = [Option(1, "Not started"), Option(2, "In progress"), Option(3, "Done")]


def test_it_sends_radio_as_the_option_text_alone(answers):
    value, problems = launch(answers, kickoff("radio", options=STATUS), "question_3qL4Gm")

    assert value == "In progress"
    assert problems == []


def test_it_sends_dropdown_as_id_and_exact_text(answers):
    value, _ = launch(answers, kickoff("dropdown", options=STATUS), "question_3qL4Gm")

    assert value == {"id": 2, "text": "In progress"}


def test_it_matches_options_case_insensitively_but_sends_tallyfys_own_text(answers):
    options = [Option(10, "easy"), Option(11, "  HARD ")]

    value, problems = launch(answers, kickoff("dropdown", options=options), "question_n9BqQm")

    assert value == {"id": 11, "text": "  HARD "}
    assert problems == []


def test_it_matches_an_option_by_tallyfy_id_last():
    rating = [Answer("question_r", "Rating", "RATING", 4)]
    options = [Option(4, "Four stars"), Option(5, "Five stars")]

    assert launch(rating, kickoff("radio", options=options), "question_r")[0] == "Four stars"


def test_the_option_map_overrides_automatic_matching_by_tally_id_or_text(answers):
    field = kickoff("radio", options=STATUS)

    by_id, _ = launch(answers, field, "question_3qL4Gm", option_map={IN_PROGRESS: "Done"})
    by_text, _ = launch(
        answers, field, "question_3qL4Gm", option_map={"In progress": "Not started"}
    )

    assert by_id == "Done"
    assert by_text == "Not started"


def test_it_blocks_an_option_with_no_tallyfy_counterpart(answers):
    value, problems = launch(
        answers, kickoff("radio", label="Status", options=[Option(1, "Open")]), "question_3qL4Gm"
    )

    assert value is None
    assert codes(problems) == ["unmatched_option"]
    assert "'In progress'" in problems[0].message
    assert problems[0].blocking


def test_it_sends_multiselect_with_selected_true(answers):
    options = [Option(1, "Soccer"), Option(2, "Swimming"), Option(3, "Skiing")]

    value, problems = launch(answers, kickoff("multiselect", options=options), "question_wQ1K7w")

    assert value == [
        {"id": 2, "text": "Swimming", "selected": True},
        {"id": 3, "text": "Skiing", "selected": True},
    ]
    assert problems == []


def test_it_keeps_the_ranking_order_in_a_multiselect(answers):
    options = [Option(1, "Apple"), Option(2, "Banana"), Option(3, "Pear")]

    value, _ = launch(answers, kickoff("multiselect", options=options), "question_w7qRZm")

    assert [v["text"] for v in value] == ["Pear", "Apple", "Banana"]


def test_it_sends_a_multi_select_to_a_multiselect(answers):
    options = [Option(1, "Golf"), Option(2, "Surf"), Option(3, "Climbing")]

    value, _ = launch(answers, kickoff("multiselect", options=options), "question_meMqem")

    assert [v["id"] for v in value] == [2, 1]


def test_it_refuses_two_options_for_a_radio():
    both = [
        Answer(
            "question_m",
            "Pick",
            "MULTIPLE_CHOICE",
            ["a", "b"],
            (ChoiceOption("a", "Not started"), ChoiceOption("b", "Done")),
        )
    ]

    value, problems = launch(both, kickoff("radio", options=STATUS), "question_m")

    assert value is None
    assert codes(problems) == ["invalid"]


# --- Table, file, assignees ------------------------------------------------------------


def test_it_sends_a_one_row_matrix_as_a_flat_list_one_string_per_column():
    # docs/vendor-notes.md: a table value is "one entry per column", e.g. ["Widget", "3"].
    one_row = [
        Answer(
            "question_m",
            "Ratings",
            "MATRIX",
            {"r1": ["c2"]},
            rows=(ChoiceOption("r1", "Quality"),),
            columns=(ChoiceOption("c1", "Unsatisfied"), ChoiceOption("c2", "Satisfied")),
        )
    ]
    field = kickoff("table", columns=[Column(1, "Criterion"), Column(2, "Answer")])

    value, problems = launch(one_row, field, "question_m")

    assert value == ["Quality", "Satisfied"]
    assert problems == []


def test_it_joins_a_many_row_matrix_one_line_per_row_and_warns(answers):
    field = kickoff("table", columns=[Column(1, "Criterion"), Column(2, "Answer")])

    value, problems = launch(answers, field, "question_mBazQn")

    assert value == ["Quality\nSpeed", "Satisfied\nNeutral"]
    assert codes(problems) == ["joined_rows"]
    assert not problems[0].blocking
    assert "2 rows were joined into each cell, one line per row" in problems[0].message


def test_the_sandbox_tallyfy_taking_only_the_documented_table_shape_accepts_it(answers):
    from integrations.sandbox.tallyfy.values import check_value

    field = kickoff("table", columns=[Column(1, "Criterion"), Column(2, "Answer")])
    value, _ = launch(answers, field, "question_mBazQn")
    sandbox_field = {
        "label": "Ratings",
        "field_type": "table",
        "columns": [{"id": 1, "label": "Criterion"}, {"id": 2, "label": "Answer"}],
    }

    error = check_value(sandbox_field, value, users=set(), groups=set(), table_shape="strict")
    assert error is None


def test_it_ticks_table_columns_named_like_the_matrix_columns(answers):
    columns = [
        Column(1, "Criterion"),
        Column(2, "Unsatisfied"),
        Column(3, "Neutral"),
        Column(4, "Satisfied"),
    ]

    value, _ = launch(answers, kickoff("table", columns=columns), "question_mBazQn")

    assert value == ["Quality\nSpeed", "\n", "\n✓", "✓\n"]


def test_it_sends_one_table_entry_per_column_even_for_a_single_column(answers):
    value, _ = launch(
        answers, kickoff("table", columns=[Column("c1", "Ratings")]), "question_mBazQn"
    )

    assert value == ["Quality: Satisfied\nSpeed: Neutral"]


@pytest.mark.parametrize("key", ["question_nW2ONw", "question_wAz7Dn"])
def test_it_sends_uploads_and_signatures_as_url_files(answers, key):
    value, problems = launch(answers, kickoff("file"), key)

    assert len(value) == 1
    assert value[0]["source"] == "url"
    assert value[0]["filename"].endswith(".png")
    assert value[0]["url"].startswith("https://storage.googleapis.com/")
    assert problems == []


def test_it_invites_an_email_answer_as_a_guest_assignee():
    email = [Answer("question_e", "Email", "INPUT_EMAIL", "ana@example.com")]

    value, _ = launch(email, kickoff("assignees_form"), "question_e")

    assert value == {"users": [], "guests": ["ana@example.com"], "groups": []}


def test_it_blocks_a_guest_that_is_not_an_email(answers):
    value, problems = launch(answers, kickoff("assignees_form"), "question_wa9QBw_email")

    assert value is None
    assert codes(problems) == ["invalid"]


# --- Required, defaults, constants -----------------------------------------------------


def test_it_reports_a_required_field_without_a_rule_like_tallyfy_does(answers):
    plan = build_launch(spec(), answers, [kickoff("text", label="Company", required=True)])

    assert [(p.code, p.message) for p in plan.problems] == [("required", "Company is required")]
    assert not plan.ok


def test_it_reports_a_required_field_whose_answer_is_null():
    empty = [Answer("question_a", "A", "INPUT_TEXT", None)]

    value, problems = launch(empty, kickoff("text", label="Name", required=True), "question_a")

    assert value is None
    assert codes(problems) == ["required"]


def test_it_uses_the_default_when_the_answer_is_null_even_a_falsy_default():
    empty = [Answer("question_a", "A", "INPUT_NUMBER", None)]

    value, problems = launch(empty, kickoff("text", required=True), "question_a", default=0)

    assert value == "0"
    assert problems == []


def test_it_sends_a_constant_in_the_fields_shape():
    value, problems = launch(
        [], kickoff("dropdown", options=STATUS), source="constant", constant="done"
    )

    assert value == {"id": 3, "text": "Done"}
    assert problems == []


def test_it_warns_when_the_mapped_tally_field_is_missing_from_the_submission():
    value, problems = launch([], kickoff("text"), "question_gone")

    assert value is None
    assert codes(problems) == ["missing_source"]
    assert not problems[0].blocking


def test_it_does_not_add_required_on_top_of_a_blocking_problem(answers):
    field = kickoff("email", label="Email", required=True)

    _, problems = launch(answers, field, "question_w4Q4Xn")

    assert codes(problems) == ["invalid"]


# --- Compatibility ---------------------------------------------------------------------


def test_the_compatibility_table_covers_every_tallyfy_field_type_with_known_tally_types():
    assert set(COMPATIBLE) == set(FIELD_TYPES)
    assert set().union(*COMPATIBLE.values()) == set(TALLY_TYPES)


def test_it_offers_only_the_payment_email_part_for_an_email_field(answers):
    keys = [s.key for s in compatible_sources(kickoff("email"), answers)]

    assert keys == [
        HIDDEN,
        SCORE,
        "question_nPpjVn_d8ad6961-4931-4737-b814-dda344f64391",
        "question_3EKz4n",
        "question_w4Q4Xn",
        "question_wa9QBw_email",
    ]


def test_it_offers_matrix_only_for_a_table_and_files_only_for_a_file(answers):
    tables = [s.key for s in compatible_sources(kickoff("table"), answers)]
    uploads = [s.key for s in compatible_sources(kickoff("file"), answers)]

    assert tables == ["question_mBazQn"]
    assert uploads == ["question_nW2ONw", "question_wAz7Dn"]


def test_it_lists_compatible_sources_from_form_questions_too():
    questions = [
        {"id": "a", "type": "INPUT_DATE", "title": "Start", "fields": []},
        {"id": "b", "type": "FILE_UPLOAD", "title": "Logo", "fields": []},
    ]

    sources = answers_from_questions(questions)

    assert [s.key for s in compatible_sources(kickoff("date"), sources)] == ["question_a"]


# --- Option matching for the builder ---------------------------------------------------


def test_auto_match_pairs_exact_then_loose_text_and_lists_the_rest():
    tally = [ChoiceOption("a", "Easy"), ChoiceOption("b", " hard"), ChoiceOption("c", "Extreme")]
    tallyfy = [Option(1, "Hard"), Option(2, "Easy"), Option(3, "Medium")]

    result = auto_match_options(tally, tallyfy)

    assert result["matched"] == {"a": "Easy", "b": "Hard"}
    assert result["unmatched"] == [ChoiceOption("c", "Extreme")]
    assert result["unused"] == [Option(3, "Medium")]


# --- Static checks ---------------------------------------------------------------------

QUESTIONS = [
    {"id": "3EKz4n", "type": "INPUT_TEXT", "title": "Text", "fields": []},
    {"id": "3xrXrn", "type": "INPUT_DATE", "title": "Date", "fields": []},
    {
        "id": "n9BqQm",
        "type": "DROPDOWN",
        "title": "Dropdown",
        "options": [{"id": "e", "text": "Easy"}, {"id": "h", "text": "Hard"}],
        "fields": [],
    },
]
SOURCES = answers_from_questions(QUESTIONS)


def test_validate_spec_finds_a_required_field_left_unmapped():
    problems = validate_spec(spec(), [kickoff("text", label="Company", required=True)], SOURCES)

    assert codes(problems) == ["required"]
    assert problems[0].message.startswith("Company is required")


def test_validate_spec_finds_a_rule_for_a_field_the_template_lost():
    problems = validate_spec(spec(FieldRule("gone", source_key="question_3EKz4n")), [], SOURCES)

    assert codes(problems) == ["unknown_field"]


def test_validate_spec_finds_a_source_no_longer_in_the_form():
    problems = validate_spec(
        spec(FieldRule(FIELD, source_key="question_zzz")), [kickoff("text")], SOURCES
    )

    assert codes(problems) == ["unknown_source"]


def test_validate_spec_finds_an_incompatible_type_pair():
    problems = validate_spec(
        spec(FieldRule(FIELD, source_key="question_3EKz4n")), [kickoff("table")], SOURCES
    )

    assert codes(problems) == ["incompatible"]


def test_validate_spec_finds_an_option_map_pointing_to_a_vanished_option():
    rule = FieldRule(FIELD, source_key="question_n9BqQm", option_map={"e": "Simple"})
    field = kickoff("dropdown", options=[Option(1, "Easy"), Option(2, "Hard")])

    assert codes(validate_spec(spec(rule), [field], SOURCES)) == ["unknown_option"]


def test_validate_spec_finds_tally_options_with_no_tallyfy_match():
    rule = FieldRule(FIELD, source_key="question_n9BqQm")
    field = kickoff("dropdown", options=[Option(1, "Easy")])

    assert codes(validate_spec(spec(rule), [field], SOURCES)) == ["unmatched_option"]


def test_validate_spec_counts_an_empty_constant_as_nothing_mapped():
    rule = FieldRule(FIELD, source="constant", constant=None)

    assert codes(validate_spec(spec(rule), [kickoff("text", required=True)], SOURCES)) == [
        "required"
    ]


def test_validate_spec_finds_a_constant_that_cannot_be_sent():
    rule = FieldRule(FIELD, source="constant", constant="someday")

    assert codes(validate_spec(spec(rule), [kickoff("date")], SOURCES)) == ["invalid"]


def test_validate_spec_accepts_a_sound_mapping_and_knows_labels_and_context_placeholders():
    rules = (
        FieldRule("a" * 32, source_key="question_3EKz4n"),
        FieldRule("b" * 32, source_key="question_3xrXrn"),
        FieldRule("c" * 32, source_key="question_n9BqQm"),
    )
    fields = [
        kickoff("text", id="a" * 32, required=True),
        kickoff("date", id="b" * 32),
        kickoff("radio", id="c" * 32, options=[Option(1, "easy"), Option(2, "Hard")]),
    ]
    mapping = spec(*rules, name="{Text} {submission_id}", summary_template="{question_3xrXrn}")

    assert validate_spec(mapping, fields, SOURCES) == []


def test_validate_spec_warns_about_unknown_placeholders():
    problems = validate_spec(spec(name="{Nope}"), [], SOURCES)

    assert [(p.field_id, p.code, p.blocking) for p in problems] == [
        ("name", "unknown_placeholder", False)
    ]


# --- Drift -----------------------------------------------------------------------------


def test_drift_describes_each_difference_exactly():
    old_fields = [
        kickoff("text", id="a" * 32, label="Company"),
        kickoff(
            "dropdown", id="b" * 32, label="Plan", options=[Option(1, "Starter"), Option(2, "Pro")]
        ),
        kickoff("text", id="d" * 32, label="Notes"),
    ]
    new_fields = [
        kickoff("textarea", id="a" * 32, label="Company"),
        kickoff(
            "dropdown", id="b" * 32, label="Plan", options=[Option(1, "Basic"), Option(3, "Team")]
        ),
        kickoff("email", id="e" * 32, label="Owner", required=True),
    ]
    new_questions = [
        {"id": "3EKz4n", "type": "INPUT_TEXT", "title": "Company name", "fields": []},
        {
            "id": "n9BqQm",
            "type": "DROPDOWN",
            "title": "Dropdown",
            "options": [{"id": "e", "text": "Simple"}, {"id": "h", "text": "Hard"}],
            "fields": [],
        },
    ]

    assert drift(old_fields, new_fields, SOURCES, answers_from_questions(new_questions)) == [
        'Kick-off field "Notes" was removed.',
        'Kick-off field "Company" changed type from text to textarea.',
        'Option "Starter" of kick-off field "Plan" was renamed to "Basic".',
        'Option "Pro" was removed from kick-off field "Plan".',
        'Option "Team" was added to kick-off field "Plan".',
        'New required kick-off field "Owner" (email).',
        'Tally field "Date" (question_3xrXrn) was removed from the form.',
        'Tally field "Text" (question_3EKz4n) was renamed to "Company name".',
        'Option "Easy" of Tally field "Dropdown" was renamed to "Simple".',
    ]


def test_drift_is_empty_when_nothing_changed():
    fields = [kickoff("text", required=True)]

    assert drift(fields, fields, SOURCES, SOURCES) == []
