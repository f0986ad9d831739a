"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging
import re

# Periodic tasks that run every few seconds and do nothing most of the time: their
# "received"/"succeeded" INFO lines would bury everything else (`make run`'s banner first).
TICK_TASKS = ("sandbox_tally.deliver_due",)


class QuietTicks(logging.Filter):
    """Drop INFO-or-lower worker lines about the tick tasks; their warnings and errors stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a bad format string is not this filter's business
            return True
        return not any(name in text for name in TICK_TASKS)


# Query parameters whose values are one-time OAuth secrets: an authorization code (and its
# state) in a log line could be replayed by whoever reads the log before it is used.
_SECRET_QUERY = re.compile(r"([?&](?:code|state)=)[^&\s\"']*")


class RedactOAuthParams(logging.Filter):
    """Mask `code=` and `state=` values in every line (the dev server's access log shows
    the OAuth callback URL). The record is rewritten, never dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string is not this filter's business
            return True
        if "code=" in text or "state=" in text:
            record.msg, record.args = _SECRET_QUERY.sub(r"\1[redacted]", text), None
        return True
