"""TallyfyClient against Tallyfy's documented shapes (docs/vendor-notes.md), faked with respx."""

import json

import httpx
import pytest
import respx

from integrations.http import (
    Forbidden,
    Invalid,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from integrations.ratelimit import NoThrottle, Throttle
from integrations.tallyfy.client import TallyfyClient, run_url
from integrations.tallyfy.shapes import Column, Option

BASE = "https://go.tallyfy.test/api"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-part"
ORG = "org123"
FIELD_ID = "a" * 32
ORG_PATH = f"/api/organizations/{ORG}"


@pytest.fixture
def tallyfy():
    return TallyfyClient(TOKEN, org_id=ORG, base_url=BASE, throttle=NoThrottle())


@pytest.fixture
def router():
    with respx.mock(base_url="https://go.tallyfy.test", assert_all_called=False) as mock:
        yield mock


def pagination(current, total_pages, total=None):
    return {
        "pagination": {
            "total": total if total is not None else total_pages,
            "count": 1,
            "per_page": 1,
            "current_page": current,
            "total_pages": total_pages,
        }
    }


def run_data(run_id="run1", **extra):
    return {
        "id": run_id,
        "name": "Onboarding \u2013 Acme",
        "status": "active",
        "checklist_id": "tpl1",
        "summary": "kickoff:delivery-42",
        "prerun": {FIELD_ID: "Acme"},
        "created_at": "2025-03-01T10:00:00.000Z",
        **extra,
    }


# --- headers ---------------------------------------------------------------------------

CALLS = [
    ("GET", "/me", {"data": {"id": 1}}, lambda c: c.get_me()),
    ("GET", "/me/organizations", {"data": []}, lambda c: c.list_organizations()),
    ("GET", f"/organizations/{ORG}/checklists", {"data": []}, lambda c: c.list_templates()),
    (
        "GET",
        f"/organizations/{ORG}/checklists/tpl1",
        {"data": {"id": "tpl1", "title": "T", "prerun": []}},
        lambda c: c.get_template("tpl1"),
    ),
    (
        "POST",
        f"/organizations/{ORG}/runs",
        {"data": run_data()},
        lambda c: c.launch_run({"checklist_id": "tpl1", "name": "x", "prerun": {}}),
    ),
    ("GET", f"/organizations/{ORG}/runs/run1", {"data": run_data()}, lambda c: c.get_run("run1")),
    ("GET", f"/organizations/{ORG}/runs", {"data": []}, lambda c: c.find_runs("tpl1")),
    ("GET", f"/organizations/{ORG}/runs/run1/tasks", {"data": []}, lambda c: c.list_tasks("run1")),
    (
        "PUT",
        f"/organizations/{ORG}/runs/run1/tasks/t1",
        {"data": {"id": "t1"}},
        lambda c: c.update_task("run1", "t1", {FIELD_ID: "x"}),
    ),
    (
        "POST",
        f"/organizations/{ORG}/runs/run1/completed-tasks",
        {"data": {"id": "t1"}},
        lambda c: c.complete_task("run1", "t1"),
    ),
    (
        "GET",
        f"/organizations/{ORG}/runs/run1/tasks/t1",
        {"data": {"id": "t1"}},
        lambda c: c.get_task("run1", "t1"),
    ),
    (
        "POST",
        f"/organizations/{ORG}/tasks/t1/captures",
        {"data": {"id": "c1"}},
        lambda c: c.save_capture("t1", "c1", "x"),
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "call"), CALLS, ids=[c[1] for c in CALLS])
def test_every_call_sends_the_bearer_token_accept_and_tallyfy_client_headers(
    tallyfy, router, method, path, body, call
):
    route = router.route(method=method, path="/api" + path).respond(200, json=body)
    call(tallyfy)
    assert route.call_count == 1
    headers = route.calls.last.request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/json"
    assert headers["X-Tallyfy-Client"] == "APIClient"


def test_its_repr_names_the_organization_not_the_token(tallyfy):
    assert TOKEN not in repr(tallyfy)
    assert ORG in repr(tallyfy)


def test_organization_calls_need_an_organization_id(router):
    client = TallyfyClient(TOKEN, org_id=None, base_url=BASE, throttle=NoThrottle())
    with pytest.raises(ValueError):
        client.list_templates()
    router.get("/api/me").respond(200, json={"data": {"id": 7, "email": "a@b.c"}})
    assert client.get_me().id == "7"


# --- identity --------------------------------------------------------------------------


def test_it_reads_the_current_user_inside_data(tallyfy, router):
    router.get("/api/me").respond(
        200,
        json={"data": {"id": 12, "email": "ops@example.com", "first_name": "O", "last_name": "P"}},
    )
    me = tallyfy.get_me()
    assert (me.id, me.email, me.first_name) == ("12", "ops@example.com", "O")


def test_it_lists_every_organization_of_the_user(tallyfy, router):
    def page_of(request):
        page = int(request.url.params["page"])
        return httpx.Response(
            200,
            json={"data": [{"id": f"o{page}", "name": f"Org {page}"}], "meta": pagination(page, 2)},
        )

    router.get("/api/me/organizations").mock(side_effect=page_of)
    assert [(o.id, o.name) for o in tallyfy.list_organizations()] == [
        ("o1", "Org 1"),
        ("o2", "Org 2"),
    ]


# --- templates -------------------------------------------------------------------------


def test_it_pages_templates_until_the_current_page_reaches_total_pages(tallyfy, router):
    def page_of(request):
        page = int(request.url.params["page"])
        return httpx.Response(
            200,
            json={
                "data": [{"id": f"tpl{page}", "title": f"Template {page}"}],
                "meta": pagination(page, 3, total=3),
            },
        )

    route = router.get(f"{ORG_PATH}/checklists").mock(side_effect=page_of)
    assert [t.id for t in tallyfy.iter_templates(q="onboard")] == ["tpl1", "tpl2", "tpl3"]
    assert route.call_count == 3
    params = route.calls.last.request.url.params
    assert params["q"] == "onboard" and params["per_page"] == "100"


def test_a_template_list_without_pagination_is_one_page(tallyfy, router):
    router.get(f"{ORG_PATH}/checklists").respond(200, json={"data": [{"id": "t", "title": "T"}]})
    page = tallyfy.list_templates()
    assert page.has_more is False and [t.id for t in page.items] == ["t"]


def test_a_template_page_reports_totals(tallyfy, router):
    router.get(f"{ORG_PATH}/checklists").respond(
        200, json={"data": [{"id": "t", "title": "T"}], "meta": pagination(1, 4, total=4)}
    )
    page = tallyfy.list_templates(per_page=500)
    assert (page.page, page.total, page.has_more) == (1, 4, True)


def test_it_parses_kickoff_fields_of_a_template(tallyfy, router):
    router.get(f"{ORG_PATH}/checklists/tpl1").respond(
        200,
        json={
            "data": {
                "id": "tpl1",
                "title": "Onboarding",
                "prerun": [
                    {
                        "id": "b" * 32,
                        "alias": "plan",
                        "label": "Plan",
                        "field_type": "dropdown",
                        "required": False,
                        "position": 2,
                        "options": [{"id": 1, "text": "Basic"}, {"id": "2", "text": "Pro"}],
                        "columns": [],
                        "guidance": "Pick one",
                    },
                    {
                        "id": FIELD_ID,
                        "alias": "company",
                        "label": "Company",
                        "field_type": "text",
                        "required": True,
                        "position": 1,
                        "options": [],
                        "columns": [{"id": 1, "label": "Name"}, {"id": "c2", "label": "Role"}],
                        "guidance": None,
                    },
                ],
            }
        },
    )
    template = tallyfy.get_template("tpl1")
    company, plan = template.prerun
    assert (company.id, company.label, company.field_type, company.required) == (
        FIELD_ID,
        "Company",
        "text",
        True,
    )
    assert company.columns == [Column(1, "Name"), Column("c2", "Role")]
    assert plan.options == [Option(1, "Basic"), Option(2, "Pro")]
    assert plan.guidance == "Pick one" and plan.alias == "plan"


def test_it_reads_prerun_wrapped_the_fractal_way(tallyfy, router):
    router.get(f"{ORG_PATH}/checklists/tpl1").respond(
        200,
        json={
            "data": {
                "id": "tpl1",
                "title": "T",
                "prerun": {"data": [{"id": FIELD_ID, "label": "C", "field_type": "email"}]},
            }
        },
    )
    assert tallyfy.get_template("tpl1").prerun[0].field_type == "email"


# --- runs ------------------------------------------------------------------------------


def test_it_launches_a_run_and_returns_its_id(tallyfy, router):
    route = router.post(f"{ORG_PATH}/runs").respond(201, json={"data": run_data()})
    body = {"checklist_id": "tpl1", "name": "Onboarding \u2013 Acme", "prerun": {FIELD_ID: "Acme"}}
    run = tallyfy.launch_run(body)
    assert (run.id, run.name, run.status) == ("run1", "Onboarding \u2013 Acme", "active")
    assert run.prerun == {FIELD_ID: "Acme"}
    assert run.raw["checklist_id"] == "tpl1"
    assert json.loads(route.calls.last.request.content) == body


@pytest.mark.parametrize("status", [200, 201, 202])
def test_it_accepts_any_2xx_for_a_launch(tallyfy, router, status):
    router.post(f"{ORG_PATH}/runs").respond(status, json={"data": run_data("run9")})
    assert tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}}).id == "run9"


def test_a_launch_answered_without_a_run_is_an_unknown_outcome(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").respond(201)
    with pytest.raises(OutcomeUnknown):
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})


def test_a_list_shaped_prerun_is_refused_before_calling(tallyfy, router):
    route = router.post(f"{ORG_PATH}/runs").respond(201, json={"data": run_data()})
    with pytest.raises(ValueError):
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": [{"id": FIELD_ID}]})
    assert not route.called


def test_a_launch_that_timed_out_reading_is_an_unknown_outcome(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})


def test_a_launch_dropped_mid_answer_is_an_unknown_outcome(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").mock(side_effect=httpx.RemoteProtocolError("closed"))
    with pytest.raises(OutcomeUnknown):
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})


def test_a_launch_that_could_not_connect_surely_did_not_happen(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(Unavailable) as caught:
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})
    assert not isinstance(caught.value, OutcomeUnknown)


def test_a_gateway_timeout_on_a_launch_is_an_unknown_outcome(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").respond(504, html="<title>504 Gateway Time-out</title>")
    with pytest.raises(OutcomeUnknown) as caught:
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})
    assert caught.value.message == "504 Gateway Time-out"


def test_it_reads_one_run(tallyfy, router):
    router.get(f"{ORG_PATH}/runs/run1").respond(200, json={"data": run_data()})
    run = tallyfy.get_run("run1")
    assert run.summary == "kickoff:delivery-42" and run.checklist_id == "tpl1"
    assert run.created_at is not None


def test_it_finds_runs_newest_first_by_template_and_search(tallyfy, router):
    route = router.get(f"{ORG_PATH}/runs").respond(
        200, json={"data": [run_data("r2"), run_data("r1")], "meta": pagination(1, 1)}
    )
    page = tallyfy.find_runs(checklist_id="tpl1", q="delivery-42", per_page=10)
    assert [r.id for r in page.items] == ["r2", "r1"]
    assert dict(route.calls.last.request.url.params) == {
        "checklist_id": "tpl1",
        "q": "delivery-42",
        "sort": "-created_at",
        "page": "1",
        "per_page": "10",
    }


def test_run_url_points_at_the_process_in_tallyfys_app(settings):
    settings.TALLYFY_APP_BASE_URL = "https://go.tallyfy.com"
    assert run_url(ORG, "run1") == f"https://go.tallyfy.com/{ORG}/processes/run1"
    assert TallyfyClient.run_url(ORG, "run1") == run_url(ORG, "run1")


# --- tasks -----------------------------------------------------------------------------


def test_it_lists_every_task_of_a_run_with_form_fields(tallyfy, router):
    def page_of(request):
        page = int(request.url.params["page"])
        task = {
            "id": f"t{page}",
            "title": f"Step {page}",
            "status": "active",
            "run_id": "run1",
            "step_id": f"s{page}",
            "form_fields": {"data": [{"id": FIELD_ID, "label": "Notes", "field_type": "textarea"}]},
        }
        return httpx.Response(200, json={"data": [task], "meta": pagination(page, 2)})

    route = router.get(f"{ORG_PATH}/runs/run1/tasks").mock(side_effect=page_of)
    tasks = tallyfy.list_tasks("run1")
    assert [(t.id, t.step_id) for t in tasks] == [("t1", "s1"), ("t2", "s2")]
    assert tasks[0].form_fields[0].label == "Notes"
    assert route.calls.last.request.url.params["with"] == "form_fields"


def test_it_sets_task_form_values_by_field_id(tallyfy, router):
    route = router.put(f"{ORG_PATH}/runs/run1/tasks/t1").respond(
        200, json={"data": {"id": "t1", "status": "active"}}
    )
    task = tallyfy.update_task("run1", "t1", {FIELD_ID: "done"})
    assert task is not None and task.id == "t1"
    assert json.loads(route.calls.last.request.content) == {"taskdata": {FIELD_ID: "done"}}


def test_it_sends_owners_only_when_asked_because_they_replace(tallyfy, router):
    route = router.put(f"{ORG_PATH}/runs/run1/tasks/t1").respond(204)
    tallyfy.update_task("run1", "t1", {}, owners={"users": [1], "guests": [], "groups": []})
    sent = json.loads(route.calls.last.request.content)
    assert sent["owners"] == {"users": [1], "guests": [], "groups": []}


def test_it_completes_a_task_by_posting_to_completed_tasks(tallyfy, router):
    route = router.post(f"{ORG_PATH}/runs/run1/completed-tasks").respond(
        200, json={"data": {"id": "t1", "status": "completed"}}
    )
    task = tallyfy.complete_task("run1", "t1", is_approved=True)
    assert task is not None and task.status == "completed"
    assert json.loads(route.calls.last.request.content) == {"task_id": "t1", "is_approved": True}


def test_it_completes_a_plain_task_without_an_approval_flag(tallyfy, router):
    route = router.post(f"{ORG_PATH}/runs/run1/completed-tasks").respond(201)
    assert tallyfy.complete_task("run1", "t1") is None
    assert json.loads(route.calls.last.request.content) == {"task_id": "t1"}


# --- errors ----------------------------------------------------------------------------


def test_it_raises_unauthorized_for_a_401(tallyfy, router):
    router.get("/api/me").respond(401, json={"error": "Unauthenticated."})
    with pytest.raises(Unauthorized) as caught:
        tallyfy.get_me()
    assert not caught.value.retryable and caught.value.message == "Unauthenticated."


def test_it_raises_unauthorized_for_a_plain_text_401(tallyfy, router):
    router.get("/api/me").respond(401, text="Unauthorized")
    with pytest.raises(Unauthorized):
        tallyfy.get_me()


def test_it_raises_forbidden_for_a_403(tallyfy, router):
    router.get(f"{ORG_PATH}/checklists/tpl1").respond(403, json={"message": "Forbidden"})
    with pytest.raises(Forbidden):
        tallyfy.get_template("tpl1")


def test_it_raises_not_found_for_a_404(tallyfy, router):
    router.get(f"{ORG_PATH}/runs/gone").respond(404, json={"message": "Not found"})
    with pytest.raises(NotFound):
        tallyfy.get_run("gone")


def test_it_raises_invalid_with_field_messages_from_message_and_errors(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").respond(
        422,
        json={
            "message": "The given data was invalid.",
            "errors": {"prerun": ["Company is required"], "name": ["Too long"]},
        },
    )
    with pytest.raises(Invalid) as caught:
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})
    assert caught.value.field_errors == {"prerun": ["Company is required"], "name": ["Too long"]}
    assert caught.value.message == "The given data was invalid."
    assert not caught.value.retryable


def test_it_raises_invalid_with_field_messages_from_error_true_and_errors(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").respond(
        422, json={"error": True, "errors": {"checklist_id": ["The selected checklist is invalid"]}}
    )
    with pytest.raises(Invalid) as caught:
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})
    assert caught.value.field_errors == {"checklist_id": ["The selected checklist is invalid"]}
    assert "The selected checklist is invalid" in caught.value.message


def test_it_raises_invalid_with_the_message_of_error_true_and_message(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").respond(
        422, json={"error": True, "message": "Company is required"}
    )
    with pytest.raises(Invalid) as caught:
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})
    assert caught.value.message == "Company is required"
    assert caught.value.field_errors == {}
    assert caught.value.status == 422


def test_it_raises_rate_limited_with_retry_after_seconds(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").respond(429, headers={"Retry-After": "17"})
    with pytest.raises(RateLimited) as caught:
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})
    assert caught.value.retry_after == 17.0 and caught.value.retryable


def test_it_raises_rate_limited_with_retry_after_as_an_http_date(tallyfy, router):
    router.get(f"{ORG_PATH}/checklists").respond(
        429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    with pytest.raises(RateLimited) as caught:
        tallyfy.list_templates()
    assert caught.value.retry_after == 0.0  # a date in the past: retry now


def test_a_500_on_a_read_is_unavailable(tallyfy, router):
    router.get(f"{ORG_PATH}/runs/run1").respond(500, json={"message": "Server Error"})
    with pytest.raises(Unavailable) as caught:
        tallyfy.get_run("run1")
    assert not isinstance(caught.value, OutcomeUnknown) and caught.value.retryable


def test_a_502_html_page_on_a_read_is_unavailable(tallyfy, router):
    router.get(f"{ORG_PATH}/checklists").respond(
        502, html="<html><body><h1>Bad Gateway</h1></body></html>"
    )
    with pytest.raises(Unavailable) as caught:
        tallyfy.list_templates()
    assert caught.value.message == "Bad Gateway"


def test_a_503_on_a_launch_means_it_was_turned_away(tallyfy, router):
    router.post(f"{ORG_PATH}/runs").respond(503, text="")
    with pytest.raises(Unavailable) as caught:
        tallyfy.launch_run({"checklist_id": "t", "name": "n", "prerun": {}})
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.message == "HTTP 503 Service Unavailable"


def test_the_token_never_appears_in_an_error(tallyfy, router):
    router.get("/api/me").respond(401, json={"message": f"Token {TOKEN} revoked"})
    with pytest.raises(Unauthorized) as caught:
        tallyfy.get_me()
    for text in (str(caught.value), repr(caught.value), caught.value.body):
        assert TOKEN not in text


# --- throttle --------------------------------------------------------------------------


def test_it_throttles_per_organization(settings, router):
    settings.TALLYFY_RATE_LIMIT = "2/second"
    throttle = Throttle("memory://", max_wait=0)
    route = router.get(path__regex=r"^/api/organizations/[\w-]+/runs/run1$").respond(
        200, json={"data": run_data()}
    )
    one = TallyfyClient(TOKEN, org_id="org-a", base_url=BASE, throttle=throttle)
    two = TallyfyClient("another-token", org_id="org-b", base_url=BASE, throttle=throttle)
    one.get_run("run1")
    one.get_run("run1")
    two.get_run("run1")
    with pytest.raises(RateLimited) as caught:
        one.get_run("run1")
    assert 0 < caught.value.retry_after <= 1
    assert route.call_count == 3  # the refused call never reached Tallyfy


def test_a_shared_organization_budget_spans_tokens(settings, router):
    settings.TALLYFY_RATE_LIMIT = "1/minute"
    throttle = Throttle("memory://", max_wait=0)
    router.get(f"{ORG_PATH}/runs/run1").respond(200, json={"data": run_data()})
    TallyfyClient("token-one", org_id=ORG, base_url=BASE, throttle=throttle).get_run("run1")
    with pytest.raises(RateLimited):
        TallyfyClient("token-two", org_id=ORG, base_url=BASE, throttle=throttle).get_run("run1")
