"""Properties of the mapping engine over every compatible (Tally type, Tallyfy field type)
pair: whatever a respondent sends, the launch body keeps Tallyfy's documented shapes
(docs/vendor-notes.md "Launch" table) and every gap is reported, never silently dropped."""

import re
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.engine import (
    COMPATIBLE,
    NAME_MAX,
    TEXT_MAX,
    TEXTAREA_MAX,
    FieldRule,
    MappingSpec,
    build_launch,
    is_compatible,
)
from integrations.tally.answers import (
    CHOICE_TYPES,
    PAYMENT_PARTS,
    TALLY_TYPES,
    Answer,
    ChoiceOption,
    answers_from_submission,
    answers_from_webhook,
)
from integrations.tally.display import display
from integrations.tallyfy.shapes import Column, KickoffField, Option

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
PAIRS = sorted((t, f) for f, types in COMPATIBLE.items() for t in types)

words = st.text(alphabet=string.ascii_letters + " -éß", min_size=0, max_size=12)
texts = st.one_of(
    st.just(""),
    st.text(max_size=260),
    # Over textarea's 30,000 characters (too long for Hypothesis to draw one by one).
    st.text(max_size=60).map(lambda tail: "z" * 30_000 + tail),
)
numbers = st.one_of(
    st.just(0), st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False)
)


@st.composite
def choice_options(draw, min_size=1):
    labels = draw(st.lists(words, min_size=min_size, max_size=5))
    return tuple(ChoiceOption(f"opt-{i}", label) for i, label in enumerate(labels))


@st.composite
def answers_of(draw, tally_type, field_type=None, n=0):
    """One Answer of `tally_type` with any value Tally may send, including falsy ones
    (and, given `field_type`, one the mapping builder would offer for it)."""
    key = f"question_{n}{draw(st.text(alphabet=string.ascii_letters, min_size=6, max_size=6))}"
    maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
    if tally_type in CHOICE_TYPES:
        options = draw(choice_options())
        ids = [o.id for o in options]
        value = draw(maybe(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids))))
        if tally_type == "MULTIPLE_CHOICE" and value and draw(st.booleans()):
            value = value[:1]
        return Answer(key, "Choice", tally_type, value, options)
    if tally_type == "MATRIX":
        rows, columns = draw(choice_options()), draw(choice_options())
        value = draw(
            maybe(
                st.dictionaries(
                    st.sampled_from([r.id for r in rows]),
                    st.lists(st.sampled_from([c.id for c in columns]), unique=True, max_size=2),
                )
            )
        )
        return Answer(key, "Matrix", tally_type, value, rows=rows, columns=columns)
    if tally_type in ("FILE_UPLOAD", "SIGNATURE"):
        file = st.fixed_dictionaries(
            {
                "id": st.text(string.ascii_letters, min_size=1, max_size=6),
                "name": words,
                "url": st.just("https://storage.tally.so/private/x/f.png?accessToken=t"),
                "mimeType": st.just("image/png"),
                "size": st.integers(0, 10**6),
            }
        )
        return Answer(key, "Files", tally_type, draw(maybe(st.lists(file, max_size=3))))
    if tally_type == "PAYMENT":
        part = draw(st.sampled_from(PAYMENT_PARTS))
        if field_type in ("email", "assignees_form"):
            part = "email"
        value = draw(maybe(numbers if part == "price" else st.one_of(texts, st.emails())))
        return Answer(f"{key}_{part}", f"Payment ({part})", tally_type, value)
    if tally_type in ("INPUT_NUMBER", "RATING", "LINEAR_SCALE"):
        return Answer(key, "Number", tally_type, draw(maybe(numbers)))
    if tally_type == "INPUT_DATE":
        value = draw(maybe(st.one_of(st.dates().map(lambda d: d.isoformat()), words)))
        return Answer(key, "Date", tally_type, value)
    if tally_type == "INPUT_EMAIL":
        return Answer(key, "Email", tally_type, draw(maybe(st.one_of(st.emails(), texts))))
    if tally_type in ("HIDDEN_FIELDS", "CALCULATED_FIELDS"):
        value = draw(maybe(st.one_of(texts, numbers, st.booleans())))
        return Answer(f"{key}_{draw(st.uuids())}", "var", tally_type, value)
    return Answer(key, "Text", tally_type, draw(maybe(texts)))


@st.composite
def kickoff_fields(draw, field_type, source: Answer, field_id="f" * 32):
    """A kick-off field whose options overlap the source's (sometimes differ in case)."""
    tally_texts = [o.text for o in source.options] or [display(source).text or "x"]
    mixed = st.one_of(
        st.sampled_from(tally_texts), st.sampled_from(tally_texts).map(str.upper), words
    )
    texts_ = draw(st.lists(mixed, unique=True, max_size=6))
    options = [Option(id=i + 1, text=t) for i, t in enumerate(texts_)]
    columns = [Column(id=i + 1, label=t) for i, t in enumerate(draw(st.lists(words, max_size=4)))]
    return KickoffField(
        id=field_id,
        alias=None,
        label="Field",
        field_type=field_type,
        required=draw(st.booleans()),
        position=1,
        options=options,
        columns=columns,
    )


@st.composite
def cases(draw):
    tally_type, field_type = draw(st.sampled_from(PAIRS))
    source = draw(answers_of(tally_type, field_type))
    field = draw(kickoff_fields(field_type, source))
    option_map = {}
    if source.options and field.options and draw(st.booleans()):
        option_map = {source.options[0].id: draw(st.sampled_from([o.text for o in field.options]))}
    default = draw(st.one_of(st.none(), st.just(0), st.just(""), words))
    rule = FieldRule(field.id, source_key=source.key, option_map=option_map, default=default)
    return source, field, rule


def plan_for(source, field, rule, name="{%s}"):
    spec = MappingSpec("c" * 32, name % source.key, (rule,), marker="kickoff:1")
    return build_launch(spec, [source], [field])


def shape_ok(field: KickoffField, value) -> bool:
    """Tallyfy's value shape per field type (docs/vendor-notes.md "Launch")."""
    kind = field.field_type
    option_texts = {o.text: o.id for o in field.options}
    if kind == "text":
        return isinstance(value, str) and len(value) <= TEXT_MAX
    if kind == "textarea":
        return isinstance(value, str) and len(value) <= TEXTAREA_MAX
    if kind == "email":
        return isinstance(value, str)
    if kind == "date":
        return isinstance(value, str) and bool(DATE_RE.match(value))
    if kind == "radio":
        return isinstance(value, str) and value in option_texts
    if kind == "dropdown":
        return (
            set(value) == {"id", "text"}
            and isinstance(value["id"], int)
            and option_texts.get(value["text"]) == value["id"]
        )
    if kind == "multiselect":
        return isinstance(value, list) and all(
            set(v) == {"id", "text", "selected"}
            and v["selected"] is True
            and option_texts.get(v["text"]) == v["id"]
            for v in value
        )
    if kind == "table":  # a flat list, one string per column (docs/vendor-notes.md)
        return (
            isinstance(value, list)
            and len(value) == len(field.columns)
            and all(isinstance(v, str) for v in value)
        )
    if kind == "file":
        return isinstance(value, list) and all(
            set(v) == {"filename", "source", "url"}
            and v["source"] == "url"
            and v["url"].startswith("https://")
            and v["filename"]
            for v in value
        )
    if kind == "assignees_form":
        return (
            set(value) == {"users", "guests", "groups"}
            and all(isinstance(g, str) and "@" in g for g in value["guests"])
            and value["users"] == []
            and value["groups"] == []
        )
    return False


@PROPERTY
@given(cases())
def test_every_compatible_pair_yields_the_documented_shape_or_a_problem(case):
    source, field, rule = case

    plan = plan_for(source, field, rule)

    prerun = plan.body["prerun"]
    assert set(prerun) <= {field.id}
    if field.id in prerun:
        assert shape_ok(field, prerun[field.id]), prerun[field.id]
    assert 0 < len(plan.body["name"]) <= NAME_MAX
    assert plan.body["summary"].endswith("Kickoff reference: kickoff:1")


@PROPERTY
@given(cases())
def test_a_required_field_always_has_a_value_or_a_blocking_problem(case):
    source, field, rule = case
    field.required = True

    plan = plan_for(source, field, rule)

    value = plan.body["prerun"].get(field.id)
    filled = value is not None and (not isinstance(value, str) or value.strip())
    blocking = [p for p in plan.problems if p.field_id == field.id and p.blocking]
    assert filled or blocking
    if not filled and not any(p.code != "required" for p in blocking):
        assert [p.message for p in blocking] == ["Field is required"]


@PROPERTY
@given(cases())
def test_an_answered_field_is_sent_or_explained(case):
    source, field, rule = case
    plan = plan_for(source, field, rule)
    answered = display(source).text not in (None, "")

    if answered and field.id not in plan.body["prerun"]:
        assert any(p.field_id == field.id and p.blocking for p in plan.problems)


@PROPERTY
@given(
    st.sampled_from(sorted(COMPATIBLE["text"] - CHOICE_TYPES - {"PAYMENT"})),
    st.sampled_from([(0, "0"), (0.0, "0"), (False, "No"), ("", "")]),
    st.sampled_from(["text", "textarea"]),
)
def test_falsy_answers_survive_into_text_fields(tally_type, falsy_and_text, field_type):
    falsy, expected = falsy_and_text
    source = Answer("question_abcdef", "Zero", tally_type, falsy)
    field = KickoffField("f" * 32, None, "Field", field_type, True, 1)

    plan = plan_for(source, field, FieldRule(field.id, source_key=source.key))

    assert plan.body["prerun"][field.id] == expected


@PROPERTY
@given(st.text(max_size=1000))
def test_text_is_never_longer_than_200_and_cuts_are_reported(value):
    source = Answer("question_abcdef", "Long", "INPUT_TEXT", value)
    field = KickoffField("f" * 32, None, "Field", "text", False, 1)

    plan = plan_for(source, field, FieldRule(field.id, source_key=source.key))

    sent = plan.body["prerun"][field.id]
    assert len(sent) <= TEXT_MAX
    assert (sent != value) == any(p.code == "truncated" for p in plan.problems)


@PROPERTY
@given(st.data())
def test_prerun_keys_are_always_kickoff_field_ids(data):
    pairs = data.draw(st.lists(st.sampled_from(PAIRS), min_size=1, max_size=6))
    sources, fields, rules = [], [], []
    for i, (tally_type, field_type) in enumerate(pairs):
        source = data.draw(answers_of(tally_type, field_type, n=i))
        field = data.draw(kickoff_fields(field_type, source, field_id=f"{i:032x}"))
        sources.append(source)
        fields.append(field)
        rules.append(FieldRule(field.id, source_key=source.key))
    rules.append(FieldRule("Label, not an id", source_key=sources[0].key))

    plan = build_launch(MappingSpec("c" * 32, "{Choice}", tuple(rules)), sources, fields)

    assert set(plan.body["prerun"]) <= {f.id for f in fields}
    assert all(is_compatible(f.field_type, s) for f, s in zip(fields, sources, strict=True))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@PROPERTY
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "key": st.text(max_size=12),
                "label": st.text(max_size=12),
                "type": st.sampled_from([*TALLY_TYPES, "SOMETHING_NEW"]),
                "value": json_values,
            },
            optional={"options": json_values, "rows": json_values, "columns": json_values},
        ),
        max_size=6,
    )
)
def test_reading_and_showing_any_webhook_fields_never_raises(fields):
    for answer in answers_from_webhook({"data": {"fields": fields}}):
        shown = display(answer)
        assert shown.text is None or isinstance(shown.text, str)


@PROPERTY
@given(json_values, st.sampled_from(TALLY_TYPES))
def test_reading_any_rest_answer_never_raises(value, tally_type):
    question = {
        "id": "q1",
        "type": tally_type,
        "title": "Q",
        "fields": [{"uuid": "u1", "title": "v"}],
    }

    for answer in answers_from_submission(
        {"responses": [{"questionId": "q1", "answer": value}]}, [question]
    ):
        display(answer)
