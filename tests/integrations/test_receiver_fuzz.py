"""Whatever a correctly signed body holds, the receiver answers 200, 400 or 413, never 500.

(The signature is valid on purpose: it is what lets a body reach the parser.)
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.models import Submission
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
