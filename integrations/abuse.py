"""The receiver's abuse budget: a flood of forged or broken webhooks must not become a flood
of log lines and database writes (a few hundred a second would be gigabytes a day).

Every rejection is still counted exactly, in the metrics (`metrics.count_rejection`). What
is written is sampled: per kind of rejection (and endpoint) at most one log line, and per
endpoint at most one signature-failure UPDATE, every `SAMPLE_SECONDS` in each process — the
line and the UPDATE carry how many were folded into them. A process that dies loses at most
that window of the endpoint's failure count; the metrics keep the exact number.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

#: The longest a process holds back a log line or a signature-failure write.
SAMPLE_SECONDS = 10.0


class Sampler:
    """Counts events per key and lets one through per window, with the count since the
    last one let through."""

    def __init__(self, every: float = SAMPLE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.every = every
        self.clock = clock
        self._lock = threading.Lock()
        self._state: dict[Hashable, tuple[float, int]] = {}  # key -> (last let through, held)

    def hit(self, key: Hashable) -> int:
        """How many events (this one included) to write now; 0 while held back."""
        now = self.clock()
        with self._lock:
            last, held = self._state.get(key, (float("-inf"), 0))
            held += 1
            if now - last >= self.every:
                self._state[key] = (now, 0)
                return held
            self._state[key] = (last, held)
            return 0

    def clear(self) -> None:
        with self._lock:
            self._state.clear()


rejection_logs = Sampler()
signature_writes = Sampler()
