"""Issue #17, items 1, 3, 4 and 5 in the dashboard: no cell runs as a formula, every bad
query parameter is a 4xx or a shown error (never a 500), ids never reach Tally as paths,
and vendor text and links show what they are."""

import csv
import io

import pytest
import respx
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse

from dashboard.mappings.forms import MappingSettingsForm
from integrations.models import Connection
from integrations.tally.answers import answers_from_webhook
from integrations.tally.client import InvalidId, TallyClient
from integrations.tally.display import display
from tests import pipeline_factories as pf
from tests.factories import ConnectionFactory
from tests.integrations.selectors.test_tally import FORM, FORM_ID, QUESTIONS, submissions_page

FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1"]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def connection(db):
    return ConnectionFactory(
        auth_kind=Connection.AuthKind.API_KEY, refresh_token="", expires_at=None
    )


@pytest.fixture
def tally(settings):
    with respx.mock(base_url=settings.TALLY_API_BASE_URL, assert_all_called=False) as mock:
        mock.get(f"/forms/{FORM_ID}").respond(json=FORM)
        mock.get(f"/forms/{FORM_ID}/questions").respond(json={"questions": QUESTIONS})
        mock.get(f"/forms/{FORM_ID}/submissions").respond(json=submissions_page())
        yield mock


@pytest.fixture
def mapping(db, task_queue):
    return pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- 1. CSV injection -----------------------------------------------------------------------


def test_the_forms_export_neutralises_formulas_in_answers_and_question_titles(
    staff_client, tally, connection
):
    questions = [
        {"id": f"q{i}", "type": "INPUT_TEXT", "title": f"{text} title"}
        for i, text in enumerate(FORMULAS)
    ]
    answers = [{"questionId": f"q{i}", "answer": text} for i, text in enumerate(FORMULAS)]
    page = {
        **submissions_page(),
        "questions": questions,
        "submissions": [
            {"id": "s1", "isCompleted": True, "submittedAt": None, "responses": answers}
        ],
    }
    tally.get(f"/forms/{FORM_ID}/questions").respond(json={"questions": questions})
    tally.get(f"/forms/{FORM_ID}/submissions").respond(json=page)
    response = staff_client.get(
        reverse("dashboard:form_submissions_csv", args=[connection.pk, FORM_ID])
    )
    header, row = rows_of(response)[:2]
    assert header[3:] == [f"'{text} title" for text in FORMULAS]
    assert row[3:] == [f"'{text}" for text in FORMULAS]


def test_the_deliveries_export_neutralises_a_leading_tab_or_carriage_return(staff_client, mapping):
    for name in ("\t=HYPERLINK(1)", "\r=HYPERLINK(2)"):
        data = pf.envelope(form_id=mapping.form_id)
        data["data"]["formName"] = name
        pf.ingest(mapping, data)
    rows = rows_of(staff_client.get(reverse("dashboard:deliveries_export")))
    names = sorted(row[rows[0].index("form_name")] for row in rows[1:])
    assert all(name.startswith("'") for name in names), names


# --- 3. bad query parameters ----------------------------------------------------------------


def test_a_superscript_digit_search_is_not_a_500(staff_client, mapping):
    assert staff_client.get(reverse("dashboard:deliveries"), {"q": "²"}).status_code == 200


@pytest.mark.parametrize("name", ["dashboard:deliveries", "dashboard:deliveries_export"])
@pytest.mark.parametrize(
    "query", [{"date_to": "9999-12-31"}, {"date_from": "9999-12-30", "date_to": "9999-12-31"}]
)
def test_far_dates_on_deliveries_are_refused_not_a_500(staff_client, mapping, name, query):
    response = staff_client.get(reverse(name), query)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if name == "dashboard:deliveries":
        assert "Pick a date between 2000-01-01 and 2100-12-31." in body.decode()


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("dashboard:form_submissions", {"end": "9999-12-31"}),
        ("dashboard:form_submissions", {"until": "9999-12-31T23:59:59.999999"}),
        ("dashboard:form_submissions_csv", {"end": "9999-12-31"}),
    ],
)
def test_far_dates_on_submissions_are_refused_not_a_500(
    staff_client, tally, connection, name, query
):
    response = staff_client.get(reverse(name, args=[connection.pk, FORM_ID]), query)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if name == "dashboard:form_submissions" and "end" in query:  # `until` is a hidden field
        assert "Pick a date between" in body.decode()


@pytest.mark.parametrize("suffix", ["submissions/", "submissions.csv", "questions/"])
def test_a_nul_in_a_form_id_is_a_404(staff_client, connection, suffix):
    assert staff_client.get(f"/forms/{connection.pk}/%00/{suffix}").status_code == 404


def test_a_nul_in_a_submission_id_is_a_404(staff_client, connection):
    url = f"/forms/{connection.pk}/{FORM_ID}/submissions/a%00b/"
    assert staff_client.get(url).status_code == 404


@pytest.mark.parametrize("value", ["abc", "1.5", "99999999999999999999999"])
def test_a_reconnect_that_is_no_id_is_a_404(staff_client, value):
    response = staff_client.get(reverse("dashboard:tally_api_key"), {"reconnect": value})
    assert response.status_code == 404


@pytest.mark.parametrize(("owner", "valid"), [(2**63 - 1, True), (2**63, False), (0, False)])
def test_the_fallback_owner_id_fits_the_column(owner, valid):
    form = MappingSettingsForm(
        {"name": "M", "name_template": "N", "tags": "", "folders": "", "owner_id": str(owner)}
    )
    assert form.is_valid() is valid, form.errors
    if not valid:
        assert "owner_id" in form.errors


# --- 4. paths to vendors --------------------------------------------------------------------


def test_a_preview_of_a_submission_id_that_is_a_path_is_refused(staff_client, mapping, settings):
    with respx.mock(base_url=settings.TALLY_API_BASE_URL, assert_all_called=False) as tally:
        me = tally.get("/users/me").respond(json={"id": "me"})
        response = staff_client.get(
            reverse("dashboard:mapping_preview", args=[mapping.pk]),
            {"submission": "../../../users/me"},
        )
    assert response.status_code == 400
    assert "must be a Tally submission id" in response.content.decode()
    assert not me.called


@pytest.mark.parametrize("bad", ["../../users/me", "a/b", "a\x00b", "a?b", "", "x" * 65])
def test_the_tally_client_refuses_an_id_before_any_request(settings, bad):
    client = TallyClient("tok", account_key="k")
    with respx.mock(base_url=settings.TALLY_API_BASE_URL) as tally:
        with pytest.raises(InvalidId, match="is not a Tally id"):
            client.get_submission(FORM_ID, bad)
        with pytest.raises(InvalidId):
            client.get_form(bad)
        with pytest.raises(InvalidId):
            client.redeliver_event("wh1", bad)
        assert not tally.calls


# --- 5. links and names from vendor data ----------------------------------------------------


def rendered(fields) -> str:
    answers = answers_from_webhook({"fields": fields})
    return render_to_string(
        "dashboard/_answers.html", {"answers": [(a, display(a)) for a in answers]}
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<b>x</b>", "//evil"]
)
def test_a_file_answer_with_a_non_http_url_is_no_link(url):
    html = rendered(
        [{"key": "question_f", "type": "FILE_UPLOAD", "value": [{"name": "cv.pdf", "url": url}]}]
    )
    assert "cv.pdf" in html
    assert "<a " not in html


def test_a_file_answer_with_an_https_url_is_a_link():
    url = "https://storage.tally.so/private/cv.pdf"
    html = rendered(
        [{"key": "question_f", "type": "FILE_UPLOAD", "value": [{"name": "cv.pdf", "url": url}]}]
    )
    assert f'href="{url}"' in html


def test_bidi_overrides_in_names_are_shown_escaped():
    html = rendered(
        [
            {
                "key": "question_f",
                "label": "Invoice\u202e",
                "type": "FILE_UPLOAD",
                "value": [{"name": "invoice\u202efdp.exe", "url": "https://x.test/f"}],
            }
        ]
    )
    assert "\u202e" not in html
    assert "invoice\\u202efdp.exe" in html


def test_a_deeply_nested_stored_answer_breaks_neither_the_worker_nor_the_delivery_page(
    staff_client, mapping, task_queue
):
    # Stored before the receiver refused such bodies (or read from Tally's API): ~900
    # levels used to end in a RecursionError in the worker and a 500 on the page.
    value = "deep"
    for _ in range(900):
        value = [value]
    fields = [*pf.support_fields(), {"key": "question_x", "type": "INPUT_TEXT", "value": value}]
    (delivery,) = pf.ingest(mapping, pf.envelope(form_id=mapping.form_id, fields=fields))
    task_queue.drain()
    delivery.refresh_from_db()
    assert "recursion" not in delivery.last_error.lower()
    page = staff_client.get(reverse("dashboard:delivery_detail", args=[delivery.pk]))
    assert page.status_code == 200
