"""A form's inputs learned from its stored webhook payloads, merged with its REST questions."""

from integrations.tally.answers import ChoiceOption, answers_from_questions
from integrations.tally.learned import fields_from_payloads, merge_sources
from integrations.tally.shapes import parse_question


def envelope(*fields):
    return {"eventId": "e", "eventType": "FORM_RESPONSE", "data": {"fields": list(fields)}}


PLAN_OLD = {
    "key": "question_plan",
    "label": "Plan",
    "type": "DROPDOWN",
    "value": ["o1"],
    "options": [{"id": "o1", "text": "Starter"}, {"id": "o2", "text": "Pro"}],
}
PLAN_NEW = {
    "key": "question_plan",
    "label": "Which plan?",
    "type": "DROPDOWN",
    "value": None,
    "options": [{"id": "o2", "text": "Pro"}, {"id": "o3", "text": "Enterprise"}],
}
AGREE = {
    "key": "question_agree",
    "label": "Agreed",
    "type": "CHECKBOXES",
    "value": ["c1"],
    "options": [{"id": "c1", "text": "Yes"}],
}
AGREE_C1 = {
    "key": "question_agree_c1",
    "label": "Agreed (Yes)",
    "type": "CHECKBOXES",
    "value": True,
}
SEATS = {"key": "question_seats", "label": "Seats", "type": "INPUT_NUMBER", "value": 0}


def test_options_are_the_union_over_payloads_and_labels_come_from_the_newest():
    learned = fields_from_payloads([envelope(PLAN_NEW), envelope(PLAN_OLD)])

    (plan,) = learned.fields
    assert plan.label == "Which plan?"
    assert [o.text for o in plan.options] == ["Pro", "Enterprise", "Starter"]
    assert learned.payloads == 2


def test_a_sample_is_the_newest_answer_that_is_not_blank():
    learned = fields_from_payloads([envelope(PLAN_NEW), envelope(PLAN_OLD)])
    assert learned.sample("question_plan") == ["o1"]
    assert learned.fields[0].value is None


def test_a_zero_answer_is_a_sample_not_a_blank():
    learned = fields_from_payloads([envelope({**SEATS, "value": None}), envelope(SEATS)])
    assert learned.sample("question_seats") == 0


def test_checkbox_per_option_booleans_are_not_inputs_of_their_own():
    learned = fields_from_payloads([envelope(AGREE, AGREE_C1)])
    assert [f.key for f in learned.fields] == ["question_agree"]


def test_rest_questions_keep_their_order_and_gain_the_options_only_webhooks_showed():
    rest = answers_from_questions(
        [
            {"id": "name", "type": "INPUT_TEXT", "title": "Name", "fields": []},
            {"id": "plan", "type": "DROPDOWN", "title": "Plan", "fields": []},
        ]
    )
    assert rest[1].options == ()

    learned = fields_from_payloads([envelope(PLAN_NEW), envelope(AGREE)]).fields
    merged = merge_sources(rest, learned)

    assert [a.key for a in merged] == ["question_name", "question_plan", "question_agree"]
    assert merged[1].label == "Plan"
    assert merged[1].options == (ChoiceOption("o2", "Pro"), ChoiceOption("o3", "Enterprise"))


def test_questions_without_ids_offer_exactly_what_the_payloads_showed():
    # One published API reference shows questions as {uuid, type, title}: no id, no fields,
    # so no webhook key can be derived from them.
    questions = [parse_question({"uuid": "3f9a", "type": "DROPDOWN", "title": "Plan"})]
    assert questions[0].id == "" and questions[0].uuid == "3f9a"
    rest = answers_from_questions(questions)
    assert rest == []

    merged = merge_sources(rest, fields_from_payloads([envelope(PLAN_OLD)]).fields)
    assert [(a.key, a.label, a.type) for a in merged] == [("question_plan", "Plan", "DROPDOWN")]
    assert [o.text for o in merged[0].options] == ["Starter", "Pro"]
