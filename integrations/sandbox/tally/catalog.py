"""The seeded users and forms, as plain data.

A question is `{id, type, title, required, options?, rows?, columns?, variables?}`:
- `id` is Tally's question id; the webhook field key is `question_<id>`.
- choice types carry `options:[{id, text}]` (the option id is also its block uuid);
- MATRIX carries `rows` and `columns` (`[{id, text}]`);
- HIDDEN_FIELDS and CALCULATED_FIELDS carry `variables:[{uuid, name}]`, one webhook field
  each keyed `question_<id>_<uuid>`;
- PAYMENT carries `amount` and `currency`.

The "Webhook payload" form copies Tally's published all-types example
(tests/fixtures/tally/form-response-all-types.json): same ids, labels, types and options,
so a submission of it yields the same webhook field keys and value shapes.
"""

from __future__ import annotations

DEMO_API_KEY = "tly-sandbox-demo-key"
OTHER_API_KEY = "tly-sandbox-other-key"

USERS = [
    {
        "id": "mOQbWz",
        "first_name": "Dana",
        "last_name": "Demo",
        "email": "dana.demo@example.com",
        "organization_id": "nPJ8aq",
        "workspace_id": "w4xRNm",
        "subscription_plan": "PRO",
        "api_key": DEMO_API_KEY,
    },
    {
        "id": "3xGvLk",
        "first_name": "Sam",
        "last_name": "Other",
        "email": "sam.other@example.com",
        "organization_id": "mRqz0e",
        "workspace_id": "wKpb2d",
        "subscription_plan": "FREE",
        "api_key": OTHER_API_KEY,
    },
]

ALL_TYPES_FORM_ID = "VwbNEw"
ONBOARDING_FORM_ID = "wMDkzb"
SUPPORT_FORM_ID = "3jqXkP"
OTHER_FORM_ID = "nGz7Qe"
SIGNOFF_FORM_ID = "Qs4gNo"

_ALL_TYPES = [
    {
        "id": "mVGEg3",
        "type": "HIDDEN_FIELDS",
        "title": "Hidden fields",
        "required": False,
        "variables": [{"uuid": "8b5711e3-f6a2-4e25-9e68-5d730598c681", "name": "utm_campaign"}],
    },
    {
        "id": "nPpjVn",
        "type": "CALCULATED_FIELDS",
        "title": "Calculated fields",
        "required": False,
        "variables": [
            {"uuid": "84b69d73-0a85-4577-89f4-8632632cc222", "name": "Score", "kind": "NUMBER"},
            {"uuid": "d8ad6961-4931-4737-b814-dda344f64391", "name": "Type", "kind": "TEXT"},
        ],
    },
    {"id": "3EKz4n", "type": "INPUT_TEXT", "title": "Text", "required": True},
    {"id": "nr5yNw", "type": "INPUT_NUMBER", "title": "Number", "required": False},
    {"id": "w4Q4Xn", "type": "INPUT_EMAIL", "title": "Email", "required": True},
    {"id": "3jZaa3", "type": "INPUT_PHONE_NUMBER", "title": "Phone number", "required": False},
    {"id": "w2XEjm", "type": "INPUT_LINK", "title": "Website", "required": False},
    {"id": "3xrXrn", "type": "INPUT_DATE", "title": "Date", "required": False},
    {"id": "mZ8jow", "type": "INPUT_TIME", "title": "Time", "required": False},
    {"id": "3Nrpl3", "type": "TEXTAREA", "title": "Long text", "required": False},
    {
        "id": "3qL4Gm",
        "type": "MULTIPLE_CHOICE",
        "title": "Multiple choice",
        "required": False,
        "options": [
            {"id": "ec321dc4-b50d-4270-8df0-0e38c898762a", "text": "Not started"},
            {"id": "e7bfbbc6-c2e6-4821-8670-72ed1cb31cd5", "text": "In progress"},
            {"id": "2ff233ad-ad78-42ee-b51f-57b54a55bd3e", "text": "Done"},
            {"id": "3f378bb3-30e2-4e55-a30c-c2b28fe0d9db", "text": "Blocked"},
        ],
    },
    {
        "id": "wQ1K7w",
        "type": "CHECKBOXES",
        "title": "Checkboxes",
        "required": False,
        "options": [
            {"id": "9bbb6bd7-1e3b-4e48-b4b9-a221d5aad87e", "text": "Soccer"},
            {"id": "cb33303b-4e9d-4bb3-8b51-f16acbf573fe", "text": "Swimming"},
            {"id": "b42d4e8c-bdb6-4c82-b749-906706c251ff", "text": "Skiing"},
        ],
    },
    {
        "id": "n9BqQm",
        "type": "DROPDOWN",
        "title": "Dropdown",
        "required": False,
        "options": [
            {"id": "260c201f-1c52-4f2d-af88-78f21576bc46", "text": "Easy"},
            {"id": "6010d529-62a5-484d-bb03-dcbcbfc76f0b", "text": "Hard"},
        ],
    },
    {
        "id": "meMqem",
        "type": "MULTI_SELECT",
        "title": "Multi-select",
        "required": False,
        "options": [
            {"id": "f75280b0-4311-42dd-8542-e76b54b2ad15", "text": "Golf"},
            {"id": "00a9c1c2-ff96-43d1-8d68-2e109f689680", "text": "Surf"},
            {"id": "08cf2b34-5cd3-483a-9ec7-af08f8fe11da", "text": "Climbing"},
        ],
    },
    {"id": "nW2ONw", "type": "FILE_UPLOAD", "title": "File upload", "required": False},
    {
        "id": "wa9QBw",
        "type": "PAYMENT",
        "title": "Payment",
        "required": False,
        "amount": 9,
        "currency": "USD",
    },
    {"id": "m6L8kw", "type": "RATING", "title": "Rating", "required": False},
    {
        "id": "w7qRZm",
        "type": "RANKING",
        "title": "Ranking",
        "required": False,
        "options": [
            {"id": "79597316-9ac4-4267-bb6f-1950fb5d1b7e", "text": "Apple"},
            {"id": "79dbe95e-a895-4f0a-9e07-9865ddf4e4c5", "text": "Pear"},
            {"id": "58745e02-3e10-4b0e-bf6b-f6901caf7068", "text": "Banana"},
        ],
    },
    {"id": "wbq5L3", "type": "LINEAR_SCALE", "title": "Linear scale", "required": False},
    {"id": "wAz7Dn", "type": "SIGNATURE", "title": "Signature", "required": False},
    {
        "id": "mBazQn",
        "type": "MATRIX",
        "title": "Matrix",
        "required": False,
        "rows": [
            {"id": "98618291-f36d-4743-9393-b67bca0d1ef2", "text": "Quality"},
            {"id": "53c86017-bdd4-4a41-b501-4f389dfec300", "text": "Speed"},
        ],
        "columns": [
            {"id": "cf0a72b5-5b7b-4068-9eff-3e03eed58100", "text": "Unsatisfied"},
            {"id": "dcdfcafd-d544-4d5b-b50b-8d3b41a240ea", "text": "Neutral"},
            {"id": "77be6b60-3b56-4db0-b39b-deb2d8243ea1", "text": "Satisfied"},
        ],
    },
]

_ONBOARDING = [
    {
        "id": "Ap4kQz",
        "type": "HIDDEN_FIELDS",
        "title": "Hidden fields",
        "required": False,
        "variables": [{"uuid": "5f0c1d2e-8a61-4c0f-9f1e-0b7d3c2a4e11", "name": "ref"}],
    },
    {"id": "Bq7mLw", "type": "INPUT_TEXT", "title": "Company name", "required": True},
    {"id": "Cr2nPx", "type": "INPUT_TEXT", "title": "Contact name", "required": True},
    {"id": "Ds5pRy", "type": "INPUT_EMAIL", "title": "Email", "required": True},
    {"id": "Et8qSz", "type": "INPUT_PHONE_NUMBER", "title": "Phone", "required": False},
    {"id": "Fu3rTa", "type": "INPUT_DATE", "title": "Preferred start date", "required": True},
    {
        "id": "Gv6sUb",
        "type": "DROPDOWN",
        "title": "Plan",
        "required": True,
        "options": [
            {"id": "0b6a3f5e-1c2d-4e8f-9a0b-1c2d3e4f5a61", "text": "Starter"},
            {"id": "1c7b4a6f-2d3e-4f90-8b1c-2d3e4f5a6b72", "text": "Growth"},
            {"id": "2d8c5b7a-3e4f-4a01-9c2d-3e4f5a6b7c83", "text": "Enterprise"},
        ],
    },
    {
        "id": "Hw9tVc",
        "type": "CHECKBOXES",
        "title": "Services",
        "required": False,
        "options": [
            {"id": "3e9d6c8b-4f5a-4b12-8d3e-4f5a6b7c8d94", "text": "Data migration"},
            {"id": "4fae7d9c-5a6b-4c23-9e4f-5a6b7c8d9ea5", "text": "Training"},
            {"id": "5abf8eaf-6b7c-4d34-8f5a-6b7c8d9eafb6", "text": "Custom integration"},
            {"id": "6bc09fb0-7c8d-4e45-9a6b-7c8d9eafb0c7", "text": "Priority support"},
        ],
    },
    {"id": "Jx4uWd", "type": "TEXTAREA", "title": "Notes", "required": False},
]

_SUPPORT = [
    {"id": "Ky5vXe", "type": "INPUT_EMAIL", "title": "Your email", "required": True},
    {
        "id": "Lz6wYf",
        "type": "MULTIPLE_CHOICE",
        "title": "Category",
        "required": True,
        "options": [
            {"id": "7cd1a0c1-8d9e-4f56-8b7c-8d9eafb0c1d8", "text": "Billing"},
            {"id": "8de2b1d2-9eaf-4a67-9c8d-9eafb0c1d2e9", "text": "Bug"},
            {"id": "9ef3c2e3-afb0-4b78-8d9e-afb0c1d2e3fa", "text": "Question"},
        ],
    },
    {"id": "Ma7xZg", "type": "RATING", "title": "Urgency", "required": False},
    {"id": "Nb8yAh", "type": "TEXTAREA", "title": "Describe the problem", "required": True},
]

# A follow-up form: Kickoff links to it from a Tallyfy task with the task's ids in the URL
# (`/r/<id>?kickoff_ref=…&run_id=…&task_id=…`), which fill its hidden fields.
SIGNOFF_HIDDEN = [
    {"uuid": "2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c41", "name": "kickoff_ref"},
    {"uuid": "3d5f7b91-2c4e-4a6b-9d8f-0e1a2b3c4d52", "name": "run_id"},
    {"uuid": "4e6a8ca2-3d5f-4b7c-8e9a-1f2b3c4d5e63", "name": "task_id"},
]
_SIGNOFF = [
    {
        "id": "Rt5hJp",
        "type": "HIDDEN_FIELDS",
        "title": "Hidden fields",
        "required": False,
        "variables": SIGNOFF_HIDDEN,
    },
    {
        "id": "Sv6jKq",
        "type": "MULTIPLE_CHOICE",
        "title": "Decision",
        "required": True,
        "options": [
            {"id": "5f7b9db3-4e6a-4c8d-9fab-2a3c4d5e6f74", "text": "Approve"},
            {"id": "6a8caec4-5f7b-4d9e-8abc-3b4d5e6f7a85", "text": "Reject"},
        ],
    },
    {"id": "Tw7kLr", "type": "TEXTAREA", "title": "Notes", "required": True},
    {"id": "Ux8mMs", "type": "INPUT_DATE", "title": "Go-live date", "required": False},
]

_OTHER = [
    {"id": "Pc9zBi", "type": "INPUT_TEXT", "title": "Favourite colour", "required": True},
]

FORMS = [
    {
        "id": ALL_TYPES_FORM_ID,
        "owner": "mOQbWz",
        "name": "Webhook payload",
        "questions": _ALL_TYPES,
        "submissions": 30,
        "has_conditional_logic": True,
    },
    {
        "id": ONBOARDING_FORM_ID,
        "owner": "mOQbWz",
        "name": "Client onboarding request",
        "questions": _ONBOARDING,
        "submissions": 40,
        "has_conditional_logic": False,
    },
    {
        "id": SUPPORT_FORM_ID,
        "owner": "mOQbWz",
        "name": "Support intake",
        "questions": _SUPPORT,
        "submissions": 24,
        "has_conditional_logic": False,
    },
    {
        "id": SIGNOFF_FORM_ID,
        "owner": "mOQbWz",
        "name": "Client sign-off",
        "questions": _SIGNOFF,
        # A follow-up form starts empty: its answers only make sense for real runs.
        "submissions": 0,
        "has_conditional_logic": False,
    },
    {
        "id": OTHER_FORM_ID,
        "owner": "3xGvLk",
        "name": "Other team survey",
        "questions": _OTHER,
        "submissions": 5,
        "has_conditional_logic": False,
    },
]

CHOICE_TYPES = {"MULTIPLE_CHOICE", "DROPDOWN", "MULTI_SELECT", "CHECKBOXES", "RANKING"}
SINGLE_CHOICE_TYPES = {"MULTIPLE_CHOICE", "DROPDOWN"}
VARIABLE_TYPES = {"HIDDEN_FIELDS", "CALCULATED_FIELDS"}
FILE_TYPES = {"FILE_UPLOAD", "SIGNATURE"}
NUMBER_TYPES = {"INPUT_NUMBER", "RATING", "LINEAR_SCALE"}
PAYMENT_PARTS = ["price", "currency", "name", "email", "link"]

SOURCES = ["Direct", "google.com", "linkedin.com", "newsletter", "twitter.com"]
DEVICES = ["Desktop", "Mobile", "Tablet"]
COUNTRIES = ["Belgium", "France", "Germany", "Netherlands", "United Kingdom", "United States"]
