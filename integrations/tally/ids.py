"""Tally's ids (forms, submissions, webhooks, events): short and URL-safe, e.g. "3jqXkP" or
a uuid. Checked wherever one arrives from outside (a URL, a query string, a webhook) so it
can neither reach another Tally endpoint as a path nor fail a database query or a URL."""

from __future__ import annotations

import re

TALLY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TALLY_ID_RULE = "1-64 letters, digits, - or _"


def is_tally_id(value: object) -> bool:
    return isinstance(value, str) and TALLY_ID.fullmatch(value) is not None
