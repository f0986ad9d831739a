# ruff: noqa: F811
# (F811: pytest fixtures imported from the support module)
"""Fault switches and the rate limit, over real HTTP against a live server.

The product meets these as network behaviour (status codes, Retry-After, a connection
that hangs or drops), so these tests speak HTTP through httpx like the product does.
"""

import time

import httpx
import pytest
from django.test import override_settings

from integrations.sandbox.tallyfy import seed as demo
from integrations.sandbox.tallyfy import services
from tests.sandbox.test_tallyfy_support import (  # noqa: F401 (fixtures)
    ACME,
    api,
    headers,
    launch_body,
    seeded,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def http(live_server):
    demo.seed()
    with httpx.Client(base_url=f"{live_server.url}/sandbox/tallyfy", timeout=10) as client:
        yield client


def launch(http, name="Onboarding - Acme Ltd", **kwargs):
    return http.post(
        f"/api/organizations/{ACME}/runs",
        json=launch_body(name=name),
        headers=headers(),
        **kwargs,
    )


def fault(http, **body):
    response = http.post("/control/faults", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def run_names(http):
    return [r["name"] for r in http.get("/control/runs").json()["data"]]


def test_it_answers_500_for_the_next_n_launches_then_recovers(http):
    fault(http, kind="500", count=2)
    assert launch(http).status_code == 500
    assert launch(http).status_code == 500
    assert launch(http).status_code == 201
    assert len(run_names(http)) == 1


def test_it_answers_429_with_retry_after(http):
    fault(http, kind="429", retry_after=7)
    response = launch(http)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert run_names(http) == []


@pytest.mark.parametrize(
    ("variant", "keys"),
    [
        ("message_errors", {"message", "errors"}),
        ("error_errors", {"error", "errors"}),
        ("error_message", {"error", "message"}),
    ],
)
def test_it_answers_422_in_each_of_tallyfys_body_shapes(http, variant, keys):
    fault(http, kind="422", variant=variant)
    response = launch(http)
    assert response.status_code == 422
    assert set(response.json()) == keys


def test_it_leaves_reads_alone_when_the_fault_scope_is_launch(http):
    fault(http, kind="500")
    assert http.get("/api/me", headers=headers()).status_code == 200
    assert launch(http).status_code == 500


def test_it_fails_reads_too_when_the_fault_scope_is_all(http):
    fault(http, kind="500", scope="all")
    assert http.get("/api/me", headers=headers()).status_code == 500
    assert http.get("/api/me", headers=headers()).status_code == 200


def test_it_lists_and_clears_fault_switches(http):
    fault(http, kind="hang", count=3, hang_seconds=0.1)
    listed = http.get("/control/faults").json()["data"]
    assert [(f["kind"], f["remaining"]) for f in listed] == [("hang", 3)]
    assert http.delete("/control/faults").json()["data"] == []
    assert launch(http).status_code == 201


def test_it_refuses_a_bad_fault_switch(http):
    assert http.post("/control/faults", json={"kind": "explode"}).status_code == 400


def test_it_hangs_then_creates_the_run_so_a_timed_out_caller_must_look_it_up(http):
    fault(http, kind="hang", hang_seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        launch(http, name="Slow launch", timeout=0.3)
    # The server finishes the hang and answers (to nobody), however slow the machine.
    deadline = time.monotonic() + 30
    while not run_names(http) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run_names(http) == ["Slow launch"]


def test_it_answers_normally_after_a_short_hang(http):
    fault(http, kind="hang", hang_seconds=0.3)
    started = time.monotonic()
    assert launch(http).status_code == 201
    assert time.monotonic() - started >= 0.3


def test_it_drops_the_connection_after_creating_the_run(http):
    fault(http, kind="drop")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        launch(http, name="Dropped launch")
    assert run_names(http) == ["Dropped launch"]
    assert launch(http, name="Next launch").status_code == 201


def test_it_drops_reads_when_the_scope_is_all(http):
    fault(http, kind="drop", scope="all")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.get("/api/me", headers=headers())
    assert http.get("/api/me", headers=headers()).status_code == 200


# --- Rate limit (per organization, fixed one-minute window) --------------------------------


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(services, "clock", lambda: 1_700_000_010.0)  # 30 s into a minute


@override_settings(SANDBOX_TALLYFY_RATE_LIMIT=3)
def test_it_rate_limits_each_organization_with_retry_after(api, frozen_clock):
    path = f"/organizations/{ACME}/checklists"
    assert [api.get(path).status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get(path)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "30"
    assert api.get("/me").status_code == 200  # not an organization call


@override_settings(SANDBOX_TALLYFY_RATE_LIMIT=3)
def test_it_counts_each_organization_separately(api, frozen_clock):
    token = services.oauth_issue(user=demo.User.objects.get(id=40001), client_id="1001", scope="")[
        0
    ].token
    for _ in range(3):
        api.get(f"/organizations/{ACME}/checklists")
    assert api.get(f"/organizations/{ACME}/checklists").status_code == 429
    assert api.get(f"/organizations/{demo.BETA_ID}/checklists", token=token).status_code == 200


@override_settings(SANDBOX_TALLYFY_RATE_LIMIT=0)
def test_it_does_not_rate_limit_when_the_limit_is_zero(api, frozen_clock):
    assert all(api.get(f"/organizations/{ACME}/checklists").status_code == 200 for _ in range(5))


def test_it_rate_limits_at_100_a_minute_by_default(api, frozen_clock):
    statuses = [
        api.get(f"/organizations/{ACME}/checklists", per_page=1).status_code for _ in range(101)
    ]
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429


def test_it_consumes_exactly_n_faulty_calls_under_concurrency(http, live_server):
    from concurrent.futures import ThreadPoolExecutor

    fault(http, kind="500", count=3)

    def one(i):
        with httpx.Client(base_url=f"{live_server.url}/sandbox/tallyfy", timeout=20) as c:
            return launch(c, name=f"Concurrent {i}").status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(one, range(8)))
    assert sorted(statuses) == [201] * 5 + [500] * 3
    assert len(run_names(http)) == 5
