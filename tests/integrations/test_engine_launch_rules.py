"""The launch rules: whether a mapping takes a submission (conditions, routing), who gets the
work (people), by when (deadlines) and which tags, as the launch body and the problems staff
read."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.engine import (
    Assignee,
    Clause,
    Condition,
    DeadlineRule,
    Directory,
    Group,
    MappingSpec,
    Member,
    PeopleRule,
    RouteCandidate,
    Step,
    TagRule,
    build_launch,
    evaluate,
    option_lookup,
    route,
)
from integrations.tally.answers import Answer, ChoiceOption

CHECKLIST = "c" * 32
KICKOFF = "k" * 32
REVIEW = "r" * 32
PLAN_OPTIONS = (
    ChoiceOption("opt-starter", "Starter"),
    ChoiceOption("opt-ent", "Enterprise"),
    ChoiceOption("opt-scale", "Scale"),
)
ADDONS_OPTIONS = (ChoiceOption("a-sso", "Single sign-on"), ChoiceOption("a-api", "API access"))
DIRECTORY = Directory(
    members=(
        Member(11, "ana@acme.test", "Ana"),
        Member(12, "Bo@Acme.test", "Bo"),
        Member(13, "cy@acme.test", ""),
    ),
    groups=(Group("g-sales", "Sales"), Group("g-ops", "Ops")),
)
STEPS = (Step(KICKOFF, "Kick-off call", 1), Step(REVIEW, "Security review", 2))


def plan(*chosen):
    return Answer("question_plan", "Plan", "MULTIPLE_CHOICE", list(chosen), PLAN_OPTIONS)


def addons(*chosen):
    return Answer("question_addons", "Add-ons", "CHECKBOXES", list(chosen), ADDONS_OPTIONS)


def seats(value):
    return Answer("question_seats", "Seats", "INPUT_NUMBER", value)


def text(key, label, value, type_="INPUT_TEXT"):
    return Answer(key, label, type_, value)


def email(value, key="question_email", label="Account manager"):
    return Answer(key, label, "INPUT_EMAIL", value)


def golive(value):
    return Answer("question_golive", "Go-live date", "INPUT_DATE", value)


def clause(key, op, value=None, label=""):
    return Clause(source_key=key, op=op, value=value, label=label)


def verdict_of(c, answers):
    v = evaluate(Condition(clauses=(c,)), answers)
    return v.matched, v.reasons


def spec(**extra):
    return MappingSpec(checklist_id=CHECKLIST, name_template="Onboarding", rules=(), **extra)


def problems_of(plan_):
    return [(p.field_id, p.code, p.message) for p in plan_.problems]


# --- Conditions ---------------------------------------------------------------------------


def test_equals_on_a_choice_matches_an_option_text_ignoring_case_and_spaces():
    assert verdict_of(clause("question_plan", "equals", " enterprise "), [plan("opt-ent")]) == (
        True,
        ("Plan is “Enterprise”",),
    )


def test_equals_on_a_choice_matches_an_option_id_too():
    assert verdict_of(clause("question_plan", "equals", "opt-ent"), [plan("opt-ent")])[0]


def test_equals_that_fails_names_the_actual_answer_and_the_expected_one():
    assert verdict_of(clause("question_plan", "equals", "Enterprise"), [plan("opt-starter")]) == (
        False,
        ("Plan is “Starter”, not “Enterprise”",),
    )


def test_equals_on_text_compares_the_display_text():
    answers = [text("question_region", "Region", "  EU ")]
    assert verdict_of(clause("question_region", "equals", "eu"), answers) == (
        True,
        ("Region is “EU”",),
    )


def test_not_equals_is_the_opposite_and_holds_for_a_blank_answer():
    c = clause("question_plan", "not_equals", "Enterprise")
    assert verdict_of(c, [plan("opt-starter")]) == (True, ("Plan is “Starter”, not “Enterprise”",))
    assert verdict_of(c, [plan("opt-ent")]) == (False, ("Plan is “Enterprise”",))
    assert verdict_of(c, [plan()]) == (True, ("Plan is empty, not “Enterprise”",))


def test_one_of_takes_any_of_its_texts():
    c = clause("question_plan", "one_of", ["Enterprise", "scale"])
    assert verdict_of(c, [plan("opt-scale")]) == (True, ("Plan is “Scale”",))
    assert verdict_of(c, [plan("opt-starter")]) == (
        False,
        ("Plan is “Starter”, not one of “Enterprise”, “scale”",),
    )


def test_contains_looks_inside_text_and_inside_each_chosen_option():
    notes = text("question_notes", "Notes", "Needs SSO before launch", "TEXTAREA")
    assert verdict_of(clause("question_notes", "contains", "sso"), [notes]) == (
        True,
        ("Notes (“Needs SSO before launch”) contains “sso”",),
    )
    c = clause("question_addons", "contains", "sign-on")
    assert verdict_of(c, [addons("a-api", "a-sso")])[0]
    # Not across two options: ", " joins them only for display.
    assert not verdict_of(
        clause("question_addons", "contains", "access, single"), [addons("a-api", "a-sso")]
    )[0]
    assert verdict_of(c, [addons("a-api")]) == (
        False,
        ("Add-ons (“API access”) does not contain “sign-on”",),
    )


def test_empty_and_not_empty_count_a_missing_question_as_blank():
    assert verdict_of(clause("question_golive", "is_empty"), [golive("")]) == (
        True,
        ("Go-live date is empty",),
    )
    assert verdict_of(clause("question_golive", "not_empty"), [golive("2025-03-01")]) == (
        True,
        ("Go-live date is “2025-03-01”",),
    )
    assert verdict_of(clause("question_company", "is_empty", label="Company"), []) == (
        True,
        ("Company is not in this submission",),
    )
    assert verdict_of(clause("question_company", "equals", "Acme", label="Company"), []) == (
        False,
        ("Company is not in this submission",),
    )


@pytest.mark.parametrize(
    ("op", "value", "answer", "expected"),
    [
        ("gt", 50, 12, (False, ("Seats (12) is not > 50",))),
        ("gt", 50, 60, (True, ("Seats (60) is > 50",))),
        ("gte", 12, 12, (True, ("Seats (12) is ≥ 12",))),
        ("lt", "12.5", "12.25", (True, ("Seats (12.25) is < 12.5",))),
        ("lte", 10, 10.5, (False, ("Seats (10.5) is not ≤ 10",))),
        ("gt", 5, "lots", (False, ("Seats (“lots”) is not a number",))),
        ("gt", 5, None, (False, ("Seats is empty",))),
        (
            "gt",
            "five",
            12,
            (False, ("Seats: the rule compares with “five”, which is not a number",)),
        ),
    ],
)
def test_number_comparisons(op, value, answer, expected):
    assert verdict_of(clause("question_seats", op, value), [seats(answer)]) == expected


def test_the_clauses_label_wins_then_the_answers_then_the_key():
    answers = [seats(3), text("question_x", "", "y")]
    assert verdict_of(clause("question_seats", "gt", 1, label="Licences"), answers)[1] == (
        "Licences (3) is > 1",
    )
    assert verdict_of(clause("question_x", "is_empty"), answers)[1] == ("question_x is “y”",)


def test_an_unknown_test_never_matches_and_says_so():
    assert verdict_of(clause("question_seats", "between", 1), [seats(3)]) == (
        False,
        ("Seats: unknown test “between”",),
    )


def test_all_needs_every_clause_any_needs_one_and_no_clauses_always_match():
    clauses = (
        clause("question_plan", "equals", "Enterprise"),
        clause("question_seats", "gt", 50),
    )
    answers = [plan("opt-ent"), seats(12)]
    every = evaluate(Condition(clauses=clauses, join="all"), answers)
    some = evaluate(Condition(clauses=clauses, join="any"), answers)

    assert (every.matched, some.matched) == (False, True)
    assert every.reasons == ("Plan is “Enterprise”", "Seats (12) is not > 50")
    assert every.deciding == ("Seats (12) is not > 50",)
    assert some.deciding == ("Plan is “Enterprise”",)
    assert evaluate(Condition(), answers).matched
    assert evaluate(None, answers).matched


# --- Routing ------------------------------------------------------------------------------

ENTERPRISE = Condition(clauses=(clause("question_plan", "equals", "Enterprise"),))
BIG = Condition(clauses=(clause("question_seats", "gt", 50),))


def test_enterprise_goes_to_its_mapping_and_the_rest_to_the_otherwise_mapping():
    candidates = [
        RouteCandidate(1, "Enterprise onboarding", ENTERPRISE),
        RouteCandidate(2, "Standard onboarding", otherwise=True),
    ]

    enterprise = route([plan("opt-ent")], candidates)
    starter = route([plan("opt-starter")], candidates)

    assert enterprise.taken == {1}
    assert enterprise.reasons == {
        1: "Takes it: Plan is “Enterprise”",
        2: "Routed to “Enterprise onboarding”: Plan is “Enterprise”",
    }
    assert starter.taken == {2}
    assert starter.reasons == {
        1: "No rule matched: Plan is “Starter”, not “Enterprise”",
        2: "Takes it: no other rule matched (otherwise)",
    }


def test_with_two_conditional_mappings_and_no_match_nobody_takes_it():
    candidates = [
        RouteCandidate(1, "Enterprise onboarding", ENTERPRISE),
        RouteCandidate(2, "Big accounts", BIG),
    ]

    result = route([plan("opt-starter"), seats(3)], candidates)

    assert result.taken == frozenset()
    assert result.reasons == {
        1: "No rule matched: Plan is “Starter”, not “Enterprise”",
        2: "No rule matched: Seats (3) is not > 50",
    }


def test_a_mapping_without_condition_always_takes_it_and_does_not_stop_otherwise():
    candidates = [
        RouteCandidate(3, "Audit log"),
        RouteCandidate(2, "Standard onboarding", otherwise=True),
    ]

    result = route([plan("opt-ent")], candidates)

    assert result.taken == {2, 3}
    assert result.reasons[3] == "Takes it: no condition"


def test_an_otherwise_mapping_with_its_own_condition_needs_it_to_match():
    eu = Condition(clauses=(clause("question_region", "equals", "EU", label="Region"),))
    candidates = [
        RouteCandidate(1, "Enterprise onboarding", ENTERPRISE),
        RouteCandidate(2, "EU fallback", eu, otherwise=True),
    ]

    in_eu = route([plan("opt-starter"), text("question_region", "Region", "EU")], candidates)
    in_us = route([plan("opt-starter"), text("question_region", "Region", "US")], candidates)

    assert in_eu.taken == {2}
    assert in_eu.reasons[2] == "Takes it: no other rule matched (otherwise) and Region is “EU”"
    assert in_us.taken == frozenset()
    assert in_us.reasons[2] == "No rule matched: Region is “US”, not “EU”"


def test_several_takers_are_all_named_to_the_otherwise_mapping_whatever_the_order():
    candidates = [
        RouteCandidate(2, "Big accounts", BIG),
        RouteCandidate(9, "Fallback", otherwise=True),
        RouteCandidate(1, "Enterprise onboarding", ENTERPRISE),
    ]
    answers = [plan("opt-ent"), seats(80)]

    forwards = route(answers, candidates)
    backwards = route(answers, list(reversed(candidates)))

    assert forwards == backwards
    assert forwards.taken == {1, 2}
    assert forwards.reasons[9] == (
        "Routed to “Big accounts” (Seats (80) is > 50); “Enterprise onboarding” "
        "(Plan is “Enterprise”)"
    )


# --- Option tables ------------------------------------------------------------------------


def test_option_lookup_tries_the_id_then_the_exact_text_then_loose_text():
    table = {"opt-ent": "by id", "Scale": "by text", " starter ": "loose"}

    assert option_lookup(table, "opt-ent", "Enterprise") == "by id"
    assert option_lookup(table, "opt-scale", "Scale") == "by text"
    assert option_lookup(table, "opt-starter", "Starter") == "loose"
    assert option_lookup(table, "opt-x", "Other") is None


# --- People -------------------------------------------------------------------------------


def launch(answers=(), **extra):
    return build_launch(spec(steps=STEPS, **extra), list(answers), [], directory=DIRECTORY)


def test_an_owner_from_an_email_answer_wins_over_the_constant_owner():
    rule = PeopleRule("owner", source="email", source_key="question_email")

    result = launch([email(" BO@acme.test ")], people=(rule,), owner_id=99)

    assert result.body["owner_id"] == 12
    assert result.problems == []


def test_a_blank_owner_answer_falls_back_to_the_constant_owner_without_a_problem():
    rule = PeopleRule("owner", source="email", source_key="question_email")

    result = launch([email("")], people=(rule,), owner_id=99)

    assert result.body["owner_id"] == 99
    assert result.problems == []


def test_several_owners_keep_the_first_with_a_warning():
    rules = (
        PeopleRule("owner", constant=(Assignee("user", "11", "Ana"),)),
        PeopleRule("owner", source="email", source_key="question_email"),
    )

    result = launch([email("cy@acme.test")], people=rules)

    assert result.body["owner_id"] == 11
    assert result.ok
    assert problems_of(result) == [
        (
            "owner",
            "several_owners",
            "Process owner: several members were found; Ana owns the process (cy@acme.test not).",
        )
    ]


def test_an_owner_email_that_is_no_member_blocks_the_launch():
    rule = PeopleRule("owner", source="email", source_key="question_email")

    result = launch([email("stranger@else.test")], people=(rule,))

    assert "owner_id" not in result.body
    assert problems_of(result) == [
        (
            "owner",
            "unknown_member",
            "Process owner: stranger@else.test is not a member of the Tallyfy organization; "
            "only a member can own a process.",
        )
    ]
    assert not result.ok


def test_a_group_cannot_own_a_process():
    rule = PeopleRule("owner", constant=(Assignee("group", "g-sales", "Sales"),))

    result = launch(people=(rule,))

    assert problems_of(result) == [
        ("owner", "invalid", "Process owner must be one member, not a group (Sales).")
    ]


def test_process_assignees_take_members_and_groups_de_duplicated_in_order():
    rules = (
        PeopleRule("process", constant=(Assignee("group", "g-ops"), Assignee("user", "13"))),
        PeopleRule("process", source="email", source_key="question_email"),
        PeopleRule("process", constant=(Assignee("user", "13"), Assignee("group", "g-ops"))),
    )

    result = launch([email("ana@acme.test, bo@acme.test")], people=rules)

    assert result.body["users"] == [13, 11, 12]
    assert result.body["groups"] == ["g-ops"]
    assert result.problems == []


def test_process_assignees_refuse_an_email_with_no_member():
    rule = PeopleRule("process", source="email", source_key="question_email")

    result = launch([email("guest@else.test")], people=(rule,))

    assert "users" not in result.body
    assert [(p.code, p.label) for p in result.problems] == [("unknown_member", "Assignees")]
    assert not result.ok


def test_a_step_takes_an_unknown_email_as_a_guest_beside_a_member():
    rules = (
        PeopleRule(f"step:{KICKOFF}", source="email", source_key="question_email"),
        PeopleRule(f"step:{KICKOFF}", constant=(Assignee("user", "11", "Ana"),)),
    )

    result = launch([email("Guest@Else.test")], people=rules)

    assert result.body["tasks"] == {
        KICKOFF: {"owners": {"users": [11], "guests": ["Guest@Else.test"], "groups": []}}
    }
    assert result.problems == []


def test_a_step_with_guests_only_blocks_the_launch():
    rule = PeopleRule(f"step:{KICKOFF}", source="email", source_key="question_email")

    result = launch([email("guest@else.test")], people=(rule,))

    assert problems_of(result) == [
        (
            f"step:{KICKOFF}",
            "guest_only",
            "Guests can't be the only assignees of Kick-off call: add a member or a group.",
        )
    ]


def test_a_choice_gives_the_assignees_of_its_row():
    rule = PeopleRule(
        f"step:{REVIEW}",
        source="choice",
        source_key="question_addons",
        option_map={
            "a-sso": (Assignee("group", "g-sales"),),
            "api access": (Assignee("user", "12"), Assignee("group", "g-sales")),
        },
    )

    result = launch([addons("a-sso", "a-api")], people=(rule,))

    assert result.body["tasks"][REVIEW]["owners"] == {
        "users": [12],
        "guests": [],
        "groups": ["g-sales"],
    }


def test_a_chosen_option_without_a_row_blocks_and_is_named():
    rule = PeopleRule(
        f"step:{REVIEW}",
        source="choice",
        source_key="question_plan",
        option_map={"Starter": (Assignee("user", "11"),)},
    )

    result = launch([plan("opt-scale")], people=(rule,))

    assert problems_of(result) == [
        (
            f"step:{REVIEW}",
            "unmapped_choice",
            "Security review: nobody is set for “Scale” of Plan; add it to the table.",
        )
    ]


def test_a_rule_for_a_step_the_template_lost_sends_nothing_with_a_warning():
    rule = PeopleRule("step:gone", constant=(Assignee("user", "11"),))

    result = launch(people=(rule,))

    assert "tasks" not in result.body
    assert [(p.code, p.blocking) for p in result.problems] == [("unknown_step", False)]


def test_a_blank_email_gives_nobody_and_a_non_email_is_refused():
    rule = PeopleRule("process", source="email", source_key="question_email")

    assert launch([email("  ")], people=(rule,)).problems == []
    refused = launch([email("ana at acme")], people=(rule,))
    assert problems_of(refused) == [
        (
            "process",
            "invalid",
            "Assignees: “ana at acme” (Account manager) is not an email address.",
        )
    ]


# --- Deadlines ----------------------------------------------------------------------------


def deadline_launch(answers=(), *, now=None, fmt="iso", context=None, **rule):
    return build_launch(
        spec(steps=STEPS, deadlines=(DeadlineRule(KICKOFF, **rule),)),
        list(answers),
        [],
        context=context,
        now=now,
        deadline_format=fmt,
    )


@pytest.mark.parametrize(
    ("answer", "offset", "fmt", "expected"),
    [
        ("2025-01-30", 3, "iso", "2025-02-02T17:00:00.000Z"),
        ("2024-02-28", 1, "space", "2024-02-29 17:00:00"),
        ("2025-12-31", 1, "iso", "2026-01-01T17:00:00.000Z"),
        ("2025-03-01", -1, "space", "2025-02-28 17:00:00"),
        ("2025-03-01T23:30:00+02:00", 0, "iso", "2025-03-01T17:00:00.000Z"),
    ],
)
def test_a_date_answer_plus_days_at_the_time_of_day(answer, offset, fmt, expected):
    result = deadline_launch(
        [golive(answer)], fmt=fmt, source_key="question_golive", offset_days=offset
    )

    assert result.body["tasks"] == {KICKOFF: {"deadline": expected}}
    assert result.problems == []


def test_the_time_of_day_is_used_for_a_date_answer():
    result = deadline_launch(
        [golive("2025-05-01")], source_key="question_golive", time_of_day="09:30"
    )

    assert result.body["tasks"][KICKOFF]["deadline"] == "2025-05-01T09:30:00.000Z"


def test_the_submission_time_plus_days_keeps_its_time_in_utc():
    result = deadline_launch(
        source="submitted",
        offset_days=2,
        fmt="space",
        context={"submitted_at": "2025-01-30T23:15:42+01:00"},
    )

    assert result.body["tasks"][KICKOFF]["deadline"] == "2025-02-01 22:15:42"


def test_a_blank_date_gives_no_deadline_and_no_problem():
    result = deadline_launch([golive(None)], source_key="question_golive")

    assert "tasks" not in result.body
    assert result.problems == []


def test_a_date_answer_that_is_not_a_date_blocks_the_launch():
    result = deadline_launch(
        [text("question_golive", "Go-live date", "next week")], source_key="question_golive"
    )

    assert problems_of(result) == [
        (
            f"deadline:{KICKOFF}",
            "bad_deadline",
            "Deadline of Kick-off call: “next week” (Go-live date) is not a date.",
        )
    ]
    assert not result.ok


def test_a_deadline_in_the_past_is_sent_with_a_warning():
    result = deadline_launch(
        [golive("2025-01-02")],
        source_key="question_golive",
        now=datetime(2025, 6, 1, tzinfo=UTC),
    )

    assert result.body["tasks"][KICKOFF]["deadline"] == "2025-01-02T17:00:00.000Z"
    assert problems_of(result) == [
        (
            f"deadline:{KICKOFF}",
            "past_deadline",
            "Deadline of Kick-off call is in the past (2025-01-02 17:00 UTC).",
        )
    ]
    assert result.ok


def test_deadline_and_owners_of_one_step_share_its_task():
    result = build_launch(
        spec(
            steps=STEPS,
            deadlines=(DeadlineRule(REVIEW, source_key="question_golive"),),
            people=(PeopleRule(f"step:{REVIEW}", constant=(Assignee("group", "g-ops"),)),),
        ),
        [golive("2025-05-01")],
        [],
    )

    assert result.body["tasks"] == {
        REVIEW: {
            "deadline": "2025-05-01T17:00:00.000Z",
            "owners": {"users": [], "guests": [], "groups": ["g-ops"]},
        }
    }


# --- Tags ---------------------------------------------------------------------------------


def test_tags_are_the_constant_ones_then_the_chosen_options_ones_without_repeats():
    rule = TagRule(
        "question_addons", option_map={"a-sso": ("t-sso", "t-vip"), "API access": ("t-api",)}
    )

    result = launch([addons("a-sso", "a-api")], tags=("t-vip", "t-new"), tag_rules=(rule,))

    assert result.body["tags"] == ["t-vip", "t-new", "t-sso", "t-api"]
    assert result.problems == []


def test_an_option_without_a_tag_row_is_simply_no_tag():
    rule = TagRule("question_plan", option_map={"Enterprise": ("t-ent",)})

    result = launch([plan("opt-starter")], tag_rules=(rule,))

    assert "tags" not in result.body
    assert result.problems == []


# --- No launch rules: the body of before -----------------------------------------------------


def test_without_launch_rules_the_body_is_the_one_of_before():
    before = spec(tags=("t-a", "t-a"), folders=("f-1",), owner_id=7)

    result = build_launch(
        before,
        [plan("opt-ent")],
        [],
        directory=DIRECTORY,
        now=datetime(2030, 1, 1, tzinfo=UTC),
        deadline_format="space",
    )

    assert result.body == {
        "checklist_id": CHECKLIST,
        "name": "Onboarding",
        "prerun": {},
        "tags": ["t-a", "t-a"],
        "folders": ["f-1"],
        "owner_id": 7,
    }
    assert list(result.body) == ["checklist_id", "name", "prerun", "tags", "folders", "owner_id"]
    assert result.problems == []


# --- Properties ---------------------------------------------------------------------------


conditions = st.sampled_from([Condition(), ENTERPRISE, BIG])
candidate_lists = st.lists(
    st.builds(
        RouteCandidate,
        mapping_id=st.integers(1, 40),
        name=st.sampled_from(["A", "B", "C"]),
        condition=conditions,
        otherwise=st.booleans(),
    ),
    max_size=6,
    unique_by=lambda c: c.mapping_id,
)


@settings(max_examples=100, deadline=None)
@given(
    candidates=candidate_lists,
    chosen_plan=st.sampled_from(["opt-ent", "opt-starter"]),
    n=st.integers(0, 99),
    data=st.data(),
)
def test_routing_ignores_the_order_of_the_mappings_and_explains_each(
    candidates, chosen_plan, n, data
):
    answers = [plan(chosen_plan), seats(n)]
    shuffled = data.draw(st.permutations(candidates))

    result = route(answers, candidates)

    assert result == route(answers, shuffled)
    assert set(result.reasons) == {c.mapping_id for c in candidates}
    assert all(result.reasons[i].startswith("Takes it") for i in result.taken)


@settings(max_examples=100, deadline=None)
@given(
    tags=st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=4),
    owner=st.one_of(st.none(), st.integers(1, 10**6)),
    fmt=st.sampled_from(["iso", "space"]),
)
def test_without_launch_rules_the_new_arguments_change_nothing(tags, owner, fmt):
    before = spec(tags=tuple(tags), owner_id=owner)

    plain = build_launch(before, [plan("opt-ent")], [])
    extended = build_launch(
        before,
        [plan("opt-ent")],
        [],
        directory=DIRECTORY,
        now=datetime.now(UTC),
        deadline_format=fmt,
    )

    assert extended.body == plain.body
    assert plain.body.get("tags", []) == tags
    assert plain.body.get("owner_id") == owner
    assert not {"users", "groups", "tasks"} & set(plain.body)
