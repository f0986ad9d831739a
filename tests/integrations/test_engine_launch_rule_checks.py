"""The launch rules checked before any submission (validate_spec): each problem code the
builder and "enable" show, in the words staff read."""

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
    Step,
    TagRule,
    validate_spec,
)
from integrations.tally.answers import answers_from_questions

KICKOFF = "k" * 32
STEPS = (Step(KICKOFF, "Kick-off call", 1),)
DIRECTORY = Directory(
    members=(Member(11, "ana@acme.test", "Ana"),), groups=(Group("g-ops", "Ops"),)
)
SOURCES = answers_from_questions(
    [
        {
            "id": "plan",
            "type": "MULTIPLE_CHOICE",
            "title": "Plan",
            "fields": [],
            "options": [
                {"id": "o-start", "text": "Starter"},
                {"id": "o-ent", "text": "Enterprise"},
            ],
        },
        {"id": "email", "type": "INPUT_EMAIL", "title": "Account manager", "fields": []},
        {"id": "seats", "type": "INPUT_NUMBER", "title": "Seats", "fields": []},
        {"id": "golive", "type": "INPUT_DATE", "title": "Go-live date", "fields": []},
    ]
)


def check(**extra):
    spec = MappingSpec(
        checklist_id="c" * 32, name_template="Onboarding", rules=(), steps=STEPS, **extra
    )
    return [
        (p.field_id, p.code, p.message)
        for p in validate_spec(spec, [], SOURCES, directory=DIRECTORY)
    ]


def test_the_sources_carry_the_plans_options():
    # The checks below rely on the form's options; fail loudly if the fixture loses them.
    plan = next(s for s in SOURCES if s.key == "question_plan")
    assert [o.text for o in plan.options] == ["Starter", "Enterprise"]


def test_a_rule_set_that_fits_reports_nothing():
    assert (
        check(
            condition=Condition(clauses=(Clause("question_plan", "equals", "Enterprise"),)),
            people=(
                PeopleRule(f"step:{KICKOFF}", source="email", source_key="question_email"),
                PeopleRule(f"step:{KICKOFF}", constant=(Assignee("group", "g-ops"),)),
            ),
            deadlines=(DeadlineRule(KICKOFF, source_key="question_golive", offset_days=2),),
            tag_rules=(TagRule("question_plan", {"Starter": ("t1",), "o-ent": ("t2",)}),),
        )
        == []
    )


def test_condition_clauses_on_a_lost_question_or_that_cannot_work():
    clauses = (
        Clause("question_gone", "equals", "x", label="Region"),
        Clause("question_plan", "between", "x"),
        Clause("question_plan", "one_of", "Enterprise"),
        Clause("question_seats", "gt", "many"),
    )

    assert check(condition=Condition(clauses=clauses)) == [
        (
            "condition",
            "unknown_source",
            "Condition: Tally field “Region” is no longer in the form.",
        ),
        ("condition", "invalid", "Condition: Plan: unknown test “between”."),
        ("condition", "invalid", "Condition: “Plan is one of” needs a list of answers."),
        ("condition", "invalid", "Condition: “Seats >” needs a number, not “many”."),
    ]


def test_a_choice_people_rule_on_a_text_question_or_with_missing_rows():
    rules = (
        PeopleRule("process", source="choice", source_key="question_email"),
        PeopleRule(
            "process",
            source="choice",
            source_key="question_plan",
            option_map={"o-ent": (Assignee("user", "11"),)},
        ),
    )

    assert check(people=rules) == [
        (
            "process",
            "incompatible",
            "Assignees: Account manager is not a choice question (it is a Tally INPUT_EMAIL).",
        ),
        (
            "process",
            "unmapped_choice",
            "Assignees: nobody is set for “Starter” of Plan; add them to the table.",
        ),
    ]


def test_an_email_rule_on_a_number_question_is_incompatible():
    rule = PeopleRule(f"step:{KICKOFF}", source="email", source_key="question_seats")

    assert [c for _, c, _ in check(people=(rule,))] == ["incompatible"]


def test_constant_members_and_groups_gone_from_the_organization():
    rule = PeopleRule(
        "process", constant=(Assignee("user", "99", "Old Joe"), Assignee("group", "g-x", "Gone"))
    )

    assert check(people=(rule,)) == [
        (
            "process",
            "unknown_member",
            "Assignees: the member Old Joe is not in the Tallyfy organization any more.",
        ),
        (
            "process",
            "unknown_member",
            "Assignees: the group Gone is not in the Tallyfy organization any more.",
        ),
    ]


def test_rules_for_a_step_the_template_lost_are_warnings():
    found = check(
        people=(PeopleRule("step:gone", constant=(Assignee("user", "11"),)),),
        deadlines=(DeadlineRule("gone", source="submitted"),),
    )

    assert [(f, c) for f, c, _ in found] == [
        ("step:gone", "unknown_step"),
        ("deadline:gone", "unknown_step"),
    ]


def test_a_deadline_from_a_question_that_holds_no_date():
    rule = DeadlineRule(KICKOFF, source_key="question_seats", time_of_day="25:00")

    assert check(deadlines=(rule,)) == [
        (
            f"deadline:{KICKOFF}",
            "invalid",
            "Deadline of Kick-off call: the time of day “25:00” is not HH:MM.",
        ),
        (
            f"deadline:{KICKOFF}",
            "incompatible",
            "Deadline of Kick-off call: Seats (a Tally INPUT_NUMBER) holds no date.",
        ),
    ]


def test_a_step_given_only_constant_guests_is_refused():
    rule = PeopleRule(f"step:{KICKOFF}", constant=(Assignee("guest", "g@else.test"),))

    assert check(people=(rule,)) == [
        (
            f"step:{KICKOFF}",
            "guest_only",
            "Guests can't be the only assignees of Kick-off call: add a member or a group.",
        )
    ]


def test_an_owner_from_an_email_answer_warns_that_a_non_member_fails_the_launch():
    rule = PeopleRule("owner", source="email", source_key="question_email")

    found = validate_spec(
        MappingSpec("c" * 32, "Onboarding", (), people=(rule,)), [], SOURCES, directory=DIRECTORY
    )

    assert [(p.code, p.blocking, p.message) for p in found] == [
        (
            "member_email",
            False,
            "Process owner: an address in Account manager that is not a member of the Tallyfy "
            "organization fails the launch (guests can't own a process).",
        )
    ]


def test_tag_options_without_a_row_are_a_warning():
    found = validate_spec(
        MappingSpec(
            "c" * 32, "Onboarding", (), tag_rules=(TagRule("question_plan", {"Starter": ("t1",)}),)
        ),
        [],
        SOURCES,
    )

    assert [(p.code, p.blocking, p.message) for p in found] == [
        ("unmapped_tag", False, "Tags: no tag is set for “Enterprise” of Plan.")
    ]
