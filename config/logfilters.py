"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging

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
