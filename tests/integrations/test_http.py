"""The shared transport: error classes, error bodies, Retry-After, the throttle, JsonApi."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from limits.errors import StorageError

from integrations.http import (
    NON_FIELD_ERRORS,
    ApiError,
    Forbidden,
    Invalid,
    NotFound,
    OutcomeUnknown,
    Page,
    RateLimited,
    Unauthorized,
    Unavailable,
    error_for_status,
    iter_pages,
    parse_error_body,
    parse_retry_after,
)
from integrations.jsonapi import JsonApi
from integrations.ratelimit import NoThrottle, Throttle, get_throttle, set_throttle

BASE = "https://vendor.test/api"
TOKEN = "tly-secret-token-123456"


@pytest.fixture
def api():
    return JsonApi(
        vendor="tally",
        base_url=BASE,
        token=TOKEN,
        headers={"Accept": "application/json"},
        rate="100/minute",
        account="acct-1",
        http=httpx.Client(),
        throttle=NoThrottle(),
        timeout=5.0,
    )


# --- error classes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, Invalid, False),
        (401, Unauthorized, False),
        (403, Forbidden, False),
        (404, NotFound, False),
        (408, Unavailable, True),
        (409, ApiError, False),
        (422, Invalid, False),
        (429, RateLimited, True),
        (500, Unavailable, True),
        (502, Unavailable, True),
        (503, Unavailable, True),
    ],
)
def test_it_classifies_each_status_once_with_its_retry_flag(status, cls, retryable):
    error = error_for_status(status, "nope", {})
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status == status


@pytest.mark.parametrize("status", [500, 502, 504])
def test_it_treats_a_server_error_on_a_write_as_an_unknown_outcome(status):
    assert isinstance(error_for_status(status, "x", {}, method="POST"), OutcomeUnknown)
    assert not isinstance(error_for_status(status, "x", {}, method="GET"), OutcomeUnknown)


def test_it_treats_503_on_a_write_as_surely_not_applied():
    error = error_for_status(503, "maintenance", {}, method="POST")
    assert type(error) is Unavailable


def test_outcome_unknown_is_a_retryable_kind_of_unavailable():
    error = OutcomeUnknown("read timeout")
    assert isinstance(error, Unavailable)
    assert error.retryable


def test_an_error_reads_as_vendor_status_and_message():
    error = error_for_status(404, "Form not found", {}, vendor="tally")
    assert str(error) == "Tally 404: Form not found"
    assert "Form not found" in repr(error)


# --- error bodies ----------------------------------------------------------------------


def test_it_reads_tallys_error_shape_with_an_errors_list():
    body = json.dumps(
        {
            "message": "Validation failed",
            "errorType": "VALIDATION",
            "errors": [
                {"path": ["url"], "message": "Invalid url"},
                {"field": "formId", "message": "Required"},
                "Something general",
            ],
        }
    ).encode()
    parsed = parse_error_body(body, 400)
    assert parsed.message == "Validation failed"
    assert parsed.field_errors == {
        "url": ["Invalid url"],
        "formId": ["Required"],
        NON_FIELD_ERRORS: ["Something general"],
    }


def test_it_reads_a_message_with_per_field_errors():
    body = b'{"message": "The given data was invalid.", "errors": {"name": ["Too long"]}}'
    parsed = parse_error_body(body, 422)
    assert parsed.message == "The given data was invalid."
    assert parsed.field_errors == {"name": ["Too long"]}


def test_it_reads_error_true_with_field_errors_and_builds_a_message_from_them():
    body = b'{"error": true, "errors": {"prerun": "Company is required", "name": ["Bad"]}}'
    parsed = parse_error_body(body, 422)
    assert parsed.field_errors == {"prerun": ["Company is required"], "name": ["Bad"]}
    assert parsed.message == "prerun: Company is required; name: Bad"


def test_it_reads_error_true_with_only_a_message():
    parsed = parse_error_body(b'{"error": true, "message": "Company is required"}', 422)
    assert parsed.message == "Company is required"
    assert parsed.field_errors == {}


def test_it_reads_an_oauth_style_error_string():
    parsed = parse_error_body(b'{"error": "invalid_token"}', 401)
    assert parsed.message == "invalid_token"


def test_it_reads_a_plain_text_body():
    assert parse_error_body(b"Unauthorized", 401).message == "Unauthorized"


def test_it_reads_the_title_of_an_html_error_page():
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>x</h1></body></html>"
    assert parse_error_body(page, 502).message == "502 Bad Gateway"


def test_it_falls_back_to_the_status_line_for_an_empty_body():
    assert parse_error_body(b"", 500, "Internal Server Error").message == (
        "HTTP 500 Internal Server Error"
    )


def test_it_falls_back_to_the_status_line_for_json_without_a_message():
    assert parse_error_body(b'{"foo": 1}', 503).message == "HTTP 503"
    assert parse_error_body(b"null", 500).message == "HTTP 500"


@given(st.binary(max_size=2000), st.integers(min_value=400, max_value=599))
def test_error_body_parsing_never_raises_on_arbitrary_bytes(content, status):
    parsed = parse_error_body(content, status)
    assert isinstance(parsed.message, str) and parsed.message
    assert all(isinstance(v, list) for v in parsed.field_errors.values())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["message", "errors", "error", "field", "x"]), children)
    ),
    max_leaves=20,
)


@given(json_values)
def test_error_body_parsing_never_raises_on_arbitrary_json(value):
    parsed = parse_error_body(json.dumps(value).encode(), 422)
    assert parsed.message
    for name, messages in parsed.field_errors.items():
        assert isinstance(name, str)
        assert all(isinstance(m, str) for m in messages)


# --- Retry-After -----------------------------------------------------------------------


def test_it_reads_retry_after_seconds():
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(" 1.5 ") == 1.5


def test_it_reads_retry_after_as_an_http_date():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now) == 90.0


def test_it_never_returns_a_negative_retry_after():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0
    assert parse_retry_after("-5") == 0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf"])
def test_it_ignores_an_unreadable_retry_after(value):
    assert parse_retry_after(value) is None


@given(st.text(max_size=60))
def test_retry_after_parsing_never_raises(value):
    result = parse_retry_after(value)
    assert result is None or result >= 0


# --- transport -------------------------------------------------------------------------


@respx.mock
def test_it_sends_the_bearer_token_and_drops_empty_params(api):
    route = respx.get(f"{BASE}/things").respond(200, json={"ok": True})
    assert api.request("GET", "/things", params={"page": 2, "q": None}) == {"ok": True}
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.url.params == httpx.QueryParams({"page": "2"})


@respx.mock
def test_it_returns_none_for_an_empty_success(api):
    respx.delete(f"{BASE}/things/1").respond(204)
    assert api.request("DELETE", "/things/1") is None


@respx.mock
def test_a_success_with_an_unreadable_body_is_an_unknown_outcome(api):
    respx.post(f"{BASE}/things").respond(201, text="<html>created?</html>")
    with pytest.raises(OutcomeUnknown) as caught:
        api.request("POST", "/things", json_body={"a": 1})
    assert caught.value.status == 201


@respx.mock
def test_a_connect_error_is_unavailable_not_an_unknown_outcome(api):
    respx.post(f"{BASE}/things").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(Unavailable) as caught:
        api.request("POST", "/things", json_body={})
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.retryable


@respx.mock
def test_a_connect_timeout_is_unavailable_not_an_unknown_outcome(api):
    respx.post(f"{BASE}/things").mock(side_effect=httpx.ConnectTimeout("slow"))
    with pytest.raises(Unavailable) as caught:
        api.request("POST", "/things", json_body={})
    assert not isinstance(caught.value, OutcomeUnknown)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed connection"),
        httpx.ReadError("reset"),
        httpx.WriteTimeout("slow"),
    ],
)
@respx.mock
def test_a_request_that_may_have_arrived_is_an_unknown_outcome(api, exc):
    respx.post(f"{BASE}/things").mock(side_effect=exc)
    with pytest.raises(OutcomeUnknown) as caught:
        api.request("POST", "/things", json_body={})
    assert caught.value.retryable
    assert caught.value.status is None


@respx.mock
def test_it_never_puts_the_token_in_an_error_message_repr_or_body(api):
    echoed = {"message": f"bad token {TOKEN}", "errors": {"auth": [f"token {TOKEN} expired"]}}
    respx.get(f"{BASE}/me").respond(422, json=echoed)
    with pytest.raises(Invalid) as caught:
        api.request("GET", "/me")
    error = caught.value
    for text in (str(error), repr(error), error.message, error.body, str(error.field_errors)):
        assert TOKEN not in text
    assert "[redacted]" in error.message
    assert TOKEN not in repr(api)


@respx.mock
def test_a_transport_error_message_names_the_path_but_not_the_token(api):
    respx.get(f"{BASE}/me").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown) as caught:
        api.request("GET", "/me")
    assert "GET /me" in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert caught.value.__cause__ is None  # the httpx error (with its headers) is not chained


# --- paging ----------------------------------------------------------------------------


def test_iter_pages_stops_when_a_page_says_there_is_no_more():
    pages = {1: Page([1, 2], True, 1), 2: Page([3], False, 2)}
    assert list(iter_pages(pages.__getitem__)) == [1, 2, 3]


def test_iter_pages_stops_on_an_empty_page_even_if_it_claims_more():
    calls = []

    def fetch(page):
        calls.append(page)
        return Page([], True, page)

    assert list(iter_pages(fetch)) == []
    assert calls == [1]


# --- throttle --------------------------------------------------------------------------


def test_the_throttle_refuses_a_third_call_within_the_second_with_retry_after():
    throttle = Throttle("memory://", max_wait=0)
    throttle.acquire("tally", "acct-1", "2/second")
    throttle.acquire("tally", "acct-1", "2/second")
    with pytest.raises(RateLimited) as caught:
        throttle.acquire("tally", "acct-1", "2/second")
    assert 0 < caught.value.retry_after <= 1.0
    assert caught.value.retryable
    assert caught.value.status is None  # our own throttle, not the vendor


def test_the_throttle_waits_for_the_window_when_the_wait_is_short():
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        import time

        time.sleep(seconds)

    throttle = Throttle("memory://", max_wait=2.0, sleep=sleep)
    for _ in range(3):
        throttle.acquire("tallyfy", "org-1", "2/second")
    assert len(waits) == 1
    assert 0 < waits[0] <= 1.0


def test_the_throttle_keeps_a_separate_budget_per_vendor_account():
    throttle = Throttle("memory://", max_wait=0)
    for account in ("org-1", "org-2"):
        throttle.acquire("tallyfy", account, "2/second")
        throttle.acquire("tallyfy", account, "2/second")
    throttle.acquire("tally", "org-1", "2/second")  # another vendor, same account id


def test_the_throttle_obeys_every_limit_of_a_multi_limit_rate():
    throttle = Throttle("memory://", max_wait=0)
    throttle.acquire("tallyfy", "org-1", "10/second; 1/hour")
    with pytest.raises(RateLimited) as caught:
        throttle.acquire("tallyfy", "org-1", "10/second; 1/hour")
    assert caught.value.retry_after > 3000


def test_the_fixed_window_strategy_works_too():
    throttle = Throttle("memory://", strategy="fixed-window", max_wait=0)
    throttle.acquire("tally", "a", "1/minute")
    with pytest.raises(RateLimited):
        throttle.acquire("tally", "a", "1/minute")


def test_clearing_the_throttle_restores_the_budget():
    throttle = Throttle("memory://", max_wait=0)
    throttle.acquire("tally", "a", "1/minute")
    throttle.clear("tally", "a", "1/minute")
    throttle.acquire("tally", "a", "1/minute")


def test_the_throttle_lets_calls_through_when_its_storage_is_down(caplog):
    throttle = Throttle("memory://", max_wait=0)

    class Broken:
        def test(self, *args):
            raise StorageError(ConnectionError("redis down"))

    throttle.limiter = Broken()
    throttle.acquire("tally", "a", "1/second")
    assert "not throttling" in caplog.text


def test_the_process_wide_throttle_can_be_replaced_for_tests(settings):
    replacement = NoThrottle()
    set_throttle(replacement)
    try:
        assert get_throttle() is replacement
    finally:
        set_throttle(None)
    settings.RATE_LIMIT_STORAGE_URL = "memory://"
    built = get_throttle()
    assert isinstance(built, Throttle) and get_throttle() is built
    set_throttle(None)


def test_an_unknown_strategy_fails_loudly():
    with pytest.raises(ValueError):
        Throttle("memory://", strategy="leaky-bucket")
