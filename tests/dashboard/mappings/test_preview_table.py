"""The preview reads as staff read it: problems first and full width, then a "Tallyfy field
→ value" table (labels, option texts, no ids), the raw JSON folded with a Copy button."""

import re

import httpx
import pytest
from django.urls import reverse

from .helpers import SUPPORT_FORM, builder_post, field_id

pytestmark = pytest.mark.django_db(transaction=True)

CATEGORY_BUG = "8de2b1d2-9eaf-4a67-9c8d-9eafb0c1d2e9"


def test_the_preview_shows_each_field_sent_by_label_with_its_value(
    staff_client, support_mapping, vendors, live_kickoff
):
    _, _, seed = vendors
    priority = field_id(seed, "priority")
    data = builder_post(
        seed,
        requester_email="field:question_Ky5vXe",
        priority="field:question_Lz6wYf",
        subject="constant",
        description="field:question_Nb8yAh",
    ) | {
        f"f-{field_id(seed, 'subject')}-constant": "Web ticket",
        f"f-{priority}-opt-{CATEGORY_BUG}": "Urgent",
        "summary_template": "From {Your email}",
    }
    staff_client.post(reverse("dashboard:mapping_edit", args=[support_mapping.pk]), data)
    created = httpx.post(
        f"{live_kickoff}/sandbox/tally/control/forms/{SUPPORT_FORM}/submissions",
        json={
            "answers": {
                "Your email": "ann@example.com",
                "Category": "Bug",
                "Describe the problem": "It broke",
            },
            "deliver": False,
        },
    ).json()

    page = staff_client.get(
        reverse("dashboard:mapping_preview", args=[support_mapping.pk]),
        {"submission": created["submissionId"]},
    ).content.decode()

    table = page[page.index('class="data bx-sent"') : page.index("</table>", page.index("bx-sent"))]
    rows = re.findall(
        r'<th scope="row">([^<]+)(?:<div class="type">[^<]*</div>)?</th>'
        r'<td class="bx-value">([^<]*)</td>',
        table,
    )
    names = [label for label, _ in rows]
    assert names[:2] == ["Process name", "Summary"]  # name and summary first
    sent = dict(rows)
    # The summary as sent: with the reference line Kickoff adds to find the run again.
    assert sent.pop("Summary").startswith("From ann@example.com\n\nKickoff reference:")
    assert sent == {
        "Process name": "Ticket from ann@example.com",
        "Subject": "Web ticket",
        "Description": "It broke",
        "Priority": "Urgent",  # the option's text, not {"id": …}
        "Requester email": "ann@example.com",
    }
    assert not re.search(r"[0-9a-f]{32}", table)  # labels, never Tallyfy's field ids
    # Problems above the body, the raw JSON folded with its Copy button.
    assert page.index('id="problems"') < page.index('id="sent"')
    raw = page[page.index('<details class="bx-raw">') :]
    assert 'data-copy-target="#launch-body"' in raw.split("</details>")[0]
    assert f"&quot;{priority}&quot;" in raw.split("</details>")[0]


def test_a_problem_names_its_field_once(staff_client, support_mapping, vendors, live_kickoff):
    _, _, seed = vendors
    # Category → Priority with Bug mapped to nothing: a problem about Priority.
    data = builder_post(
        seed, requester_email="field:question_Ky5vXe", priority="field:question_Lz6wYf"
    )
    staff_client.post(reverse("dashboard:mapping_edit", args=[support_mapping.pk]), data)
    created = httpx.post(
        f"{live_kickoff}/sandbox/tally/control/forms/{SUPPORT_FORM}/submissions",
        json={"answers": {"Your email": "ann@example.com", "Category": "Bug"}, "deliver": False},
    ).json()
    page = staff_client.get(
        reverse("dashboard:mapping_preview", args=[support_mapping.pk]),
        {"submission": created["submissionId"]},
    ).content.decode()
    problems = page[page.index('id="problems"') : page.index('id="sent"')]
    assert "<strong>Priority</strong>:" in problems
    assert "Priority: Priority:" not in problems and "</strong>: Priority:" not in problems
