"""Tally submissions normalised into Answers, against Tally's own all-types webhook example
(tests/fixtures/tally/form-response-all-types.json) and the REST shapes of docs/vendor-notes.md."""

import copy
import json
import random
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from integrations.tally.answers import (
    Answer,
    ChoiceOption,
    answer_index,
    answers_from_questions,
    answers_from_submission,
    answers_from_webhook,
    selected_options,
)
from integrations.tally.display import Link, display
from tests.fixtures import TALLY_ALL_TYPES

FIXTURE = TALLY_ALL_TYPES

HIDDEN = "question_mVGEg3_8b5711e3-f6a2-4e25-9e68-5d730598c681"
SCORE = "question_nPpjVn_84b69d73-0a85-4577-89f4-8632632cc222"
KIND = "question_nPpjVn_d8ad6961-4931-4737-b814-dda344f64391"
CHECKBOXES = "question_wQ1K7w"
SWIMMING = "cb33303b-4e9d-4bb3-8b51-f16acbf573fe"
SKIING = "b42d4e8c-bdb6-4c82-b749-906706c251ff"
IN_PROGRESS = "e7bfbbc6-c2e6-4821-8670-72ed1cb31cd5"


@pytest.fixture(scope="module")
def envelope():
    return json.loads(FIXTURE.read_text())


@pytest.fixture
def payload(envelope):
    """A copy each test may change."""
    return copy.deepcopy(envelope)


@pytest.fixture(scope="module")
def answers(envelope):
    return answer_index(answers_from_webhook(envelope))


def field_of(payload, key):
    return next(f for f in payload["data"]["fields"] if f["key"] == key)


# --- Webhook ---------------------------------------------------------------------------


def test_it_keeps_every_fixture_field_except_the_checkbox_option_booleans(envelope):
    keys = [a.key for a in answers_from_webhook(envelope)]
    fixture_keys = [f["key"] for f in envelope["data"]["fields"]]

    assert keys == [k for k in fixture_keys if not k.startswith(CHECKBOXES + "_")]
    assert len(keys) == len(fixture_keys) - 3


def test_it_counts_a_checkbox_question_once_with_its_ticked_option_ids(answers):
    checkbox = answers[CHECKBOXES]

    assert checkbox.type == "CHECKBOXES"
    assert checkbox.value == [SWIMMING, SKIING]
    assert [o.text for o in selected_options(checkbox)] == ["Swimming", "Skiing"]
    assert display(checkbox).text == "Swimming, Skiing"


def test_it_accepts_the_whole_envelope_or_only_its_data(envelope):
    assert answers_from_webhook(envelope) == answers_from_webhook(envelope["data"])


def test_it_keys_hidden_fields_by_question_and_variable_uuid(answers):
    hidden = answers[HIDDEN]

    assert (hidden.label, hidden.type, hidden.value) == (
        "utm_campaign",
        "HIDDEN_FIELDS",
        "newsletter",
    )


def test_it_keeps_calculated_numbers_and_texts_apart(answers):
    assert answers[SCORE].value == 20
    assert answers[KIND].value == "Hard"
    assert display(answers[SCORE]).text == "20"


def test_it_keeps_text_number_email_phone_link_date_and_time_as_sent(answers):
    assert answers["question_3EKz4n"].value == "Hello"
    assert answers["question_nr5yNw"].value == 10
    assert answers["question_w4Q4Xn"].type == "INPUT_EMAIL"
    assert answers["question_3jZaa3"].value == "+32491223344"
    assert answers["question_w2XEjm"].value == "example.com"
    assert answers["question_3xrXrn"].value == "2023-06-28"
    assert answers["question_mZ8jow"].value == "12:00"
    assert answers["question_3Nrpl3"].value == "Hello world"


def test_it_resolves_multiple_choice_ids_to_option_text(answers):
    choice = answers["question_3qL4Gm"]

    assert choice.value == [IN_PROGRESS]
    assert len(choice.options) == 4
    assert display(choice).text == "In progress"


def test_it_accepts_multiple_choice_as_a_bare_string_id(payload):
    field_of(payload, "question_3qL4Gm")["value"] = IN_PROGRESS

    choice = answer_index(answers_from_webhook(payload))["question_3qL4Gm"]

    assert choice.value == [IN_PROGRESS]
    assert display(choice).text == "In progress"


def test_it_reads_a_dropdown_as_one_option(answers):
    assert display(answers["question_n9BqQm"]).text == "Hard"


def test_it_keeps_multi_select_in_the_order_sent(answers):
    assert display(answers["question_meMqem"]).items == ("Surf", "Golf")


def test_it_keeps_ranking_in_rank_order(answers):
    ranking = answers["question_w7qRZm"]

    assert display(ranking).items == ("Pear", "Apple", "Banana")


def test_it_shows_files_and_signatures_as_links(answers):
    upload = display(answers["question_nW2ONw"])
    signature = display(answers["question_wAz7Dn"])

    assert upload.text == "Tally_Icon.png"
    assert upload.links[0].url.endswith("/Tally_Icon.png")
    assert signature.links == (
        Link(
            "ca8f2e11-f99a-4042-b872-0888811b8118.png",
            "https://storage.googleapis.com/tally-response-assets-dev/vBXMXN/signatures/"
            "ca8f2e11-f99a-4042-b872-0888811b8118.png",
        ),
    )


def test_it_keeps_the_five_payment_fields(answers):
    parts = {k.rsplit("_", 1)[1]: a for k, a in answers.items() if a.type == "PAYMENT"}

    assert set(parts) == {"price", "currency", "name", "email", "link"}
    assert parts["price"].value == 9
    assert parts["email"].payment_part == "email"
    assert parts["currency"].value == "USD"


def test_it_keeps_rating_and_linear_scale_as_numbers(answers):
    assert answers["question_m6L8kw"].value == 4
    assert answers["question_wbq5L3"].value == 7


def test_it_reads_a_matrix_with_its_rows_and_columns(answers):
    matrix = answers["question_mBazQn"]

    assert [r.text for r in matrix.rows] == ["Quality", "Speed"]
    assert len(matrix.columns) == 3
    assert display(matrix).items == ("Quality: Satisfied", "Speed: Neutral")


def test_it_keeps_falsy_answers(payload):
    field_of(payload, "question_nr5yNw")["value"] = 0
    field_of(payload, "question_3EKz4n")["value"] = ""
    field_of(payload, HIDDEN)["value"] = False

    answers = answer_index(answers_from_webhook(payload))

    assert answers["question_nr5yNw"].value == 0
    assert display(answers["question_nr5yNw"]).text == "0"
    assert answers["question_3EKz4n"].value == ""
    assert display(answers["question_3EKz4n"]).text == ""
    assert display(answers[HIDDEN]).text == "No"


def test_it_keeps_unanswered_questions_as_none_and_shows_them_empty(payload):
    for f in payload["data"]["fields"]:
        f["value"] = None

    answers = answers_from_webhook(payload)

    assert len(answers) == 26
    assert all(a.value is None for a in answers)
    assert all(display(a).text is None for a in answers)


def test_it_rebuilds_a_checkbox_answer_from_its_option_booleans_when_the_parent_is_empty(payload):
    field_of(payload, CHECKBOXES)["value"] = None

    checkbox = answer_index(answers_from_webhook(payload))[CHECKBOXES]

    assert checkbox.value == [SWIMMING, SKIING]


def test_it_identifies_answers_by_key_when_labels_repeat_or_are_empty(payload):
    field_of(payload, "question_3EKz4n")["label"] = "Same"
    field_of(payload, "question_3Nrpl3")["label"] = "Same"
    field_of(payload, "question_w2XEjm")["label"] = ""

    answers = answer_index(answers_from_webhook(payload))

    assert answers["question_3EKz4n"].value == "Hello"
    assert answers["question_3Nrpl3"].value == "Hello world"
    assert answers["question_w2XEjm"].label == ""


def test_it_ignores_fields_without_a_key_or_that_are_not_objects(payload):
    payload["data"]["fields"] += [{"label": "no key", "value": 1}, "junk", None]

    assert len(answers_from_webhook(payload)) == 26


def test_it_keeps_an_unknown_choice_item_as_typed(payload):
    field_of(payload, "question_3qL4Gm")["value"] = ["Something else"]

    choice = answer_index(answers_from_webhook(payload))["question_3qL4Gm"]

    assert display(choice).text == "Something else"


# --- Display ---------------------------------------------------------------------------


def test_it_shows_true_as_yes_and_a_float_without_trailing_zero():
    assert display(Answer("k", "", "CALCULATED_FIELDS", True)).text == "Yes"
    assert display(Answer("k", "", "INPUT_NUMBER", 10.0)).text == "10"
    assert display(Answer("k", "", "INPUT_NUMBER", 2.5)).text == "2.5"


def test_it_shows_an_empty_choice_list_as_answered_but_empty():
    shown = display(Answer("k", "", "CHECKBOXES", [], (ChoiceOption("a", "A"),)))

    assert shown.text == ""
    assert shown.answered


# --- REST ------------------------------------------------------------------------------

QUESTIONS = [
    {
        "id": "mVGEg3",
        "type": "HIDDEN_FIELDS",
        "title": "Hidden fields",
        "fields": [
            {
                "uuid": "8b5711e3-f6a2-4e25-9e68-5d730598c681",
                "type": "HIDDEN_FIELDS",
                "blockGroupUuid": "g1",
                "title": "utm_campaign",
            }
        ],
    },
    {
        "id": "3EKz4n",
        "type": "INPUT_TEXT",
        "title": "Text",
        "fields": [{"uuid": "u1", "type": "INPUT_TEXT", "blockGroupUuid": "g2", "title": "Text"}],
    },
    {
        "id": "wQ1K7w",
        "type": "CHECKBOXES",
        "title": "Checkboxes",
        "fields": [
            {"uuid": "u2", "type": "CHECKBOXES", "blockGroupUuid": "g3", "title": "Checkboxes"}
        ],
    },
    {"id": "wa9QBw", "type": "PAYMENT", "title": "Payment", "fields": []},
    {
        "id": "mBazQn",
        "type": "MATRIX",
        "title": "Matrix",
        "fields": [{"uuid": "u3", "type": "MATRIX", "blockGroupUuid": "g4", "title": "Matrix"}],
    },
    {"id": "nr5yNw", "type": "INPUT_NUMBER", "title": "Number", "fields": []},
]


def test_it_gives_rest_answers_the_keys_a_webhook_uses(envelope):
    from_questions = {a.key for a in answers_from_questions(QUESTIONS)}
    from_webhook = {a.key for a in answers_from_webhook(envelope)}

    assert from_questions <= from_webhook
    assert HIDDEN in from_questions
    assert "question_wa9QBw_email" in from_questions


def test_it_reads_rest_answers_given_as_option_texts_and_names():
    submission = {
        "id": "2wgx4n",
        "responses": [
            {"questionId": "mVGEg3", "answer": {"utm_campaign": "newsletter"}},
            {"questionId": "3EKz4n", "answer": "Hello"},
            {"questionId": "wQ1K7w", "answer": ["Swimming", "Skiing"]},
            {"questionId": "wa9QBw", "answer": {"price": 9, "currency": "USD", "email": "a@b.co"}},
            {"questionId": "mBazQn", "answer": {"Quality": ["Satisfied"], "Speed": ["Neutral"]}},
            {"questionId": "nr5yNw", "answer": 0},
        ],
    }

    answers = answer_index(answers_from_submission(submission, QUESTIONS))

    assert answers[HIDDEN].value == "newsletter"
    assert answers["question_3EKz4n"].value == "Hello"
    assert display(answers[CHECKBOXES]).text == "Swimming, Skiing"
    assert answers["question_wa9QBw_price"].value == 9
    assert answers["question_wa9QBw_email"].value == "a@b.co"
    assert answers["question_wa9QBw_link"].value is None
    assert display(answers["question_mBazQn"]).items == ("Quality: Satisfied", "Speed: Neutral")
    assert answers["question_nr5yNw"].value == 0


def test_it_reads_rest_value_instead_of_answer():
    submission = {"responses": [{"questionId": "3EKz4n", "value": "Hello"}]}

    answers = answer_index(answers_from_submission(submission, QUESTIONS))

    assert answers["question_3EKz4n"].value == "Hello"


def test_it_unwraps_a_single_submission_response():
    body = {"submission": {"responses": [{"questionId": "3EKz4n", "answer": "Hi"}]}}

    assert answer_index(answers_from_submission(body, QUESTIONS))["question_3EKz4n"].value == "Hi"


def test_it_resolves_rest_option_texts_to_ids_when_the_question_lists_options():
    question = {
        "id": "q1",
        "type": "DROPDOWN",
        "title": "Plan",
        "fields": [
            {"uuid": "opt-a", "type": "DROPDOWN_OPTION", "title": "Starter"},
            {"uuid": "opt-b", "type": "DROPDOWN_OPTION", "title": "Growth"},
        ],
    }
    submission = {"responses": [{"questionId": "q1", "answer": "Growth"}]}

    (answer,) = answers_from_submission(submission, [question])

    assert answer.value == ["opt-b"]
    assert display(answer).text == "Growth"


def test_it_accepts_hidden_fields_as_a_list_of_name_value_pairs():
    submission = {
        "responses": [
            {"questionId": "mVGEg3", "answer": [{"name": "utm_campaign", "value": "spring"}]}
        ]
    }

    answers = answer_index(answers_from_submission(submission, QUESTIONS))

    assert answers[HIDDEN].value == "spring"


def test_it_lists_unanswered_rest_questions_with_none_and_keeps_unknown_questions():
    submission = {"responses": [{"questionId": "gone", "answer": "still here"}]}

    answers = answer_index(answers_from_submission(submission, QUESTIONS))

    assert answers["question_3EKz4n"].value is None
    assert answers["question_gone"].value == "still here"


def test_it_reads_client_dataclasses_through_their_raw_dict():
    question = SimpleNamespace(raw=QUESTIONS[1])
    submission = SimpleNamespace(raw={"responses": [{"questionId": "3EKz4n", "answer": "Hi"}]})

    (answer,) = answers_from_submission(submission, [question])

    assert answer.value == "Hi"


# --- The sandbox Tally speaks both shapes: they must read the same -----------------------


def test_it_reads_the_sandbox_webhook_and_rest_shapes_of_one_submission_alike():
    shapes = pytest.importorskip("integrations.sandbox.tally.shapes")
    catalog = pytest.importorskip("integrations.sandbox.tally.catalog")
    seed = pytest.importorskip("integrations.sandbox.tally.seed")
    spec = next(f for f in catalog.FORMS if f["id"] == catalog.ALL_TYPES_FORM_ID)
    form = SimpleNamespace(id=spec["id"], name=spec["name"], questions=spec["questions"])
    rng = random.Random(7)
    values = {q["id"]: seed.fake_answer(q, rng) for q in form.questions}
    sub = SimpleNamespace(
        public_id="abc123",
        respondent_id="r1",
        is_completed=True,
        submitted_at=datetime(2025, 3, 1, tzinfo=UTC),
        answers=values,
    )

    webhook = answers_from_webhook({"data": {"fields": shapes.webhook_fields(form, values)}})
    rest = answers_from_submission(shapes.submission_json(sub, form), shapes.questions_json(form))

    shown_webhook = {a.key: display(a).text for a in webhook}
    shown_rest = {a.key: display(a).text for a in rest}
    assert shown_rest == shown_webhook
