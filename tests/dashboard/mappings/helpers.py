"""What the mappings tests share: the sandbox support form and builder form data."""

import httpx

SUPPORT_FORM = "3jqXkP"
TALLY_KEY = "tly-sandbox-demo-key"


def field_id(seed, alias):
    return seed.field_id("support-ticket-triage", alias)


def builder_post(seed, **rows):
    data = {
        "name": "Support → Triage",
        "name_template": "Ticket from {Your email}",
        "summary_template": "",
        "tags": "",
        "folders": "",
        "owner_id": "",
    }
    for alias, value in rows.items():
        data[f"f-{field_id(seed, alias)}-source"] = value
    return data


def webhooks(live_kickoff):
    return httpx.get(
        f"{live_kickoff}/sandbox/tally/api/webhooks",
        headers={"Authorization": f"Bearer {TALLY_KEY}"},
    ).json()["webhooks"]
