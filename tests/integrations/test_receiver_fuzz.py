"""Whatever a correctly signed body holds, the receiver answers 200, 400 or 413, never 500.

(The signature is valid on purpose: it is what lets a body reach the parser.)
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.models import Delivery, Submission
from tests import pipeline_factories as pf

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture
def endpoint(db):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    return pf.endpoint_for(mapping, secret="whsec-fuzz")


def post_signed(client, endpoint, body: bytes):
    response = client.post(
        f"/hooks/tally/{endpoint.key}/",
        data=body,
        content_type="application/json",
        headers={"Tally-Signature": pf.signed_headers("whsec-fuzz", body)["Tally-Signature"]},
    )
    assert response.status_code in (200, 400, 413), response.content[:300]
    if response.status_code == 400:
        assert response.json()["message"]  # a reason, always
    return response


@FUZZ
@given(body=st.binary(max_size=2000))
def test_random_bytes_never_yield_a_500(client, endpoint, task_queue, body):
    post_signed(client, endpoint, body)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=2000))
def test_truncated_json_never_yields_a_500(client, endpoint, task_queue, cut):
    body = pf.body_of(pf.envelope())
    post_signed(client, endpoint, body[: cut % len(body)])


MEMBERS = [
    ("eventId",),
    ("eventType",),
    ("createdAt",),
    ("data",),
    ("data", "formId"),
    ("data", "submissionId"),
    ("data", "responseId"),
    ("data", "respondentId"),
    ("data", "formName"),
    ("data", "createdAt"),
    ("data", "fields"),
    ("data", "fields", 0),
    ("data", "fields", 0, "key"),
    ("data", "fields", 0, "value"),
    ("data", "fields", 1, "options"),
    ("data", "fields", 1, "value"),
    ("data", "fields", 2, "type"),
    ("data", "fields", 3, "label"),
]


def replace(data, path, value):
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


@FUZZ
@given(path=st.sampled_from(MEMBERS), value=json_values)
def test_wrong_types_anywhere_in_the_envelope_never_yield_a_500(
    client, endpoint, task_queue, path, value
):
    data = replace(pf.envelope(), path, value)
    response = post_signed(client, endpoint, pf.body_of(data))
    if response.status_code == 200:
        assert response.json()["status"] in ("stored", "duplicate", "ignored")


@FUZZ
@given(
    path=st.sampled_from([p for p in MEMBERS if p[-1] != 0]),
    size=st.sampled_from([65, 300, 5_000, 200_000, 1_100_000]),
    char=st.sampled_from(["a", "é", "😀", "\u0000", "\ud800", "\\"]),
)
def test_huge_and_odd_strings_never_yield_a_500(client, endpoint, task_queue, path, size, char):
    data = replace(pf.envelope(), path, char * size)
    body = json.dumps(data, separators=(",", ":")).encode()  # ASCII-escaped, always encodable
    post_signed(client, endpoint, body)


@FUZZ
@given(position=st.integers(min_value=0, max_value=400), junk=st.binary(min_size=1, max_size=4))
def test_invalid_utf8_inside_a_valid_envelope_never_yields_a_500(
    client, endpoint, task_queue, position, junk
):
    body = pf.body_of(pf.envelope())
    position %= len(body)
    post_signed(client, endpoint, body[:position] + b"\xc3\x28" + junk + body[position:])


def test_a_stored_fuzzed_submission_keeps_its_exact_bytes(client, endpoint, task_queue):
    data = pf.envelope(fields=[{"key": "question_x", "type": "INPUT_TEXT", "value": "é😀\n\t"}])
    body = json.dumps(data, ensure_ascii=False, indent=1).encode()
    assert post_signed(client, endpoint, body).status_code == 200
    assert bytes(Submission.objects.get().raw_body) == body


offsets = st.integers(min_value=-24 * 60 + 1, max_value=24 * 60 - 1).map(
    lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
)
created_ats = st.one_of(
    st.builds(
        lambda year, offset: f"{year:04d}-06-15T12:00:00{offset}",
        st.sampled_from([1, 2, 1999, 2025, 9998, 9999]),
        offsets,
    ),
    st.text(max_size=30),
)


def nested_value(depth: int):
    value = "v"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@FUZZ
@given(
    created_at=created_ats,
    depth=st.integers(min_value=0, max_value=200),
    extra_fields=st.integers(min_value=0, max_value=6_000),
    submission_id=st.one_of(st.text(min_size=1, max_size=70), st.just("ok-Id_1")),
)
def test_odd_envelopes_are_stored_exactly_once_or_refused_with_nothing_stored(
    client, endpoint, task_queue, created_at, depth, extra_fields, submission_id
):
    fields = [{"key": "question_deep", "type": "INPUT_TEXT", "value": nested_value(depth)}]
    fields += [
        {"key": f"question_c{i}", "type": "CHECKBOXES", "value": None} for i in range(extra_fields)
    ]
    data = pf.envelope(fields=fields, submission_id=submission_id)
    data["data"]["createdAt"] = created_at
    before = (Submission.objects.count(), Delivery.objects.count())
    response = post_signed(client, endpoint, pf.body_of(data))
    after = (Submission.objects.count(), Delivery.objects.count())
    if response.status_code == 200 and response.json()["status"] == "stored":
        assert after == (before[0] + 1, before[1] + response.json()["deliveries"])
    else:
        assert after == before
