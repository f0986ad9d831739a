"""TallyfyClient's members, groups and template steps: Tallyfy's documented shapes faked with
respx, then the same calls over real HTTP against the sandbox Tallyfy."""

import httpx
import pytest
import respx

from integrations.http import OutcomeUnknown
from integrations.ratelimit import NoThrottle
from integrations.tallyfy.client import TallyfyClient
from integrations.tallyfy.shapes import Group, Member, Step

BASE = "https://go.tallyfy.test/api"
ORG = "org123"
ORG_PATH = f"/api/organizations/{ORG}"


@pytest.fixture
def tallyfy():
    return TallyfyClient("token-abc", org_id=ORG, base_url=BASE, throttle=NoThrottle())


@pytest.fixture
def router():
    with respx.mock(base_url="https://go.tallyfy.test", assert_all_called=False) as mock:
        yield mock


def member(uid, email, first, last, full=None):
    return {
        "id": uid,
        "email": email,
        "first_name": first,
        "last_name": last,
        "full_name": full if full is not None else f"{first} {last}",
    }


def test_it_reads_every_member_across_pages(tallyfy, router):
    pages = {
        1: [member(7, "sam@acme.example", "Sam", "Rivera")],
        2: [member(9, "priya@acme.example", "Priya", "Shah", full="")],
    }

    def page_of(request):
        page = int(request.url.params["page"])
        meta = {"pagination": {"total": 2, "current_page": page, "total_pages": 2}}
        return httpx.Response(200, json={"data": pages[page], "meta": meta})

    route = router.get(f"{ORG_PATH}/users").mock(side_effect=page_of)
    assert tallyfy.list_members() == [
        Member(id=7, email="sam@acme.example", name="Sam Rivera"),
        Member(id=9, email="priya@acme.example", name="Priya Shah"),  # no full_name: joined
    ]
    assert route.call_count == 2
    assert route.calls.last.request.url.params["per_page"] == "100"


def test_a_member_whose_id_is_not_an_integer_is_an_unexpected_answer(tallyfy, router):
    router.get(f"{ORG_PATH}/users").respond(
        200, json={"data": [member("abc", "sam@acme.example", "Sam", "Rivera")]}
    )
    with pytest.raises(OutcomeUnknown, match="not an integer"):
        tallyfy.list_members()


def test_it_reads_the_groups(tallyfy, router):
    router.get(f"{ORG_PATH}/groups").respond(
        200,
        json={
            "data": [{"id": "g1", "name": "Support", "members": [9]}, {"id": "g2", "name": "Ops"}],
            "meta": {"pagination": {"current_page": 1, "total_pages": 1}},
        },
    )
    assert tallyfy.list_groups() == [Group("g1", "Support"), Group("g2", "Ops")]


STEPS = [
    {"id": "s2", "title": "Set up account", "position": 2},
    {"id": "s1", "title": "Welcome call", "position": 1},
]


@pytest.mark.parametrize("steps", [STEPS, {"data": STEPS}], ids=["a-list", "wrapped-in-data"])
def test_it_asks_for_a_templates_steps_and_reads_them_in_order(tallyfy, router, steps):
    route = router.get(f"{ORG_PATH}/checklists/tpl1").respond(
        200, json={"data": {"id": "tpl1", "title": "T", "prerun": [], "steps": steps}}
    )
    assert tallyfy.get_template("tpl1").steps == [
        Step("s1", "Welcome call", 1),
        Step("s2", "Set up account", 2),
    ]
    assert route.calls.last.request.url.params["with"] == "steps,steps.captures"


def test_a_template_answered_without_steps_has_steps_unknown_not_empty(tallyfy, router):
    router.get(f"{ORG_PATH}/checklists/tpl1").respond(
        200, json={"data": {"id": "tpl1", "title": "T", "prerun": []}}
    )
    assert tallyfy.get_template("tpl1").steps is None


# --- Against the sandbox Tallyfy, over real HTTP ------------------------------------------


@pytest.fixture
def sandbox_client(live_server, transactional_db):
    from integrations.sandbox.tallyfy import seed as demo

    demo.seed()
    return TallyfyClient(
        demo.DEMO_TOKEN,
        org_id=demo.ACME_ID,
        base_url=f"{live_server.url}/sandbox/tallyfy/api",
        throttle=NoThrottle(),
    )


def test_the_sandbox_answers_members_groups_and_steps_as_the_client_reads_them(sandbox_client):
    from integrations.sandbox.tallyfy import seed as demo
    from integrations.sandbox.tallyfy import switches

    members = sandbox_client.list_members()
    assert Member(40002, "sam.rivera@acme.example", "Sam Rivera") in members
    assert len(members) == 3
    assert [g.name for g in sandbox_client.list_groups()] == ["Onboarding team", "Support"]
    steps = sandbox_client.get_template(demo.CLIENT_ONBOARDING_ID).steps
    assert [s.title for s in steps] == [
        "Welcome call",
        "Set up account",
        "Kickoff meeting",
        "Send welcome pack",
        "Site visit",
        "Client sign-off",
    ]

    switches.flip("template_steps", "absent")
    assert sandbox_client.get_template(demo.CLIENT_ONBOARDING_ID).steps is None


def test_a_steps_task_form_fields_and_type_are_read_when_listed():
    from integrations.tallyfy.shapes import parse_steps

    [approval, plain] = parse_steps(
        {
            "data": [
                {
                    "id": "s1",
                    "title": "Client sign-off",
                    "position": 1,
                    "task_type": "approval",
                    "captures": {
                        "data": [{"id": "c1", "label": "Notes", "field_type": "textarea"}]
                    },
                },
                {"id": "s2", "title": "Done", "position": 2},
            ]
        }
    )
    assert approval.is_approval and [c.label for c in approval.captures] == ["Notes"]
    assert not plain.is_approval and plain.captures is None  # not listed: unknown, not empty
