"""The per-account request budget every vendor call spends, shared by all processes.

Kept under each vendor's documented rate so Kickoff backs off before the vendor answers 429;
`limits` storage (RATE_LIMIT_STORAGE_URL) lets web, workers and beat share one count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES, RateLimiter

from .http import RateLimited

logger = logging.getLogger(__name__)


class Throttle:
    """Per-account request budget shared by every process through `limits` storage.

    `acquire(vendor, account, rate)` takes one request from the budget, sleeping until
    the window frees when that is at most `max_wait` seconds away, and raising
    `RateLimited(retry_after=…)` (status None: our own throttle) otherwise.
    """

    def __init__(
        self,
        storage_url: str = "memory://",
        *,
        strategy: str = "moving-window",
        max_wait: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown rate limit strategy {strategy!r}")
        self.storage = storage_from_string(storage_url, wrap_exceptions=True)
        self.limiter: RateLimiter = STRATEGIES[strategy](self.storage)
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._items: dict[str, list[RateLimitItem]] = {}

    def _parse(self, rate: str) -> list[RateLimitItem]:
        if rate not in self._items:
            self._items[rate] = parse_many(rate)
        return self._items[rate]

    def _wait_needed(self, items: list[RateLimitItem], key: str) -> float:
        wait = 0.0
        for item in items:
            if not self.limiter.test(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                wait = max(wait, reset - self._clock(), 0.01)
        return wait

    def acquire(self, vendor: str, account: str, rate: str) -> None:
        """Spend one request of `rate` (e.g. "100/minute; 1000/hour") for this account."""
        items = self._parse(rate)
        key = f"{vendor}:{account}"
        deadline = self._clock() + self.max_wait
        try:
            while True:
                wait = self._wait_needed(items, key)
                if wait == 0.0:
                    if all(self.limiter.hit(item, key) for item in items):
                        return
                    continue  # another process took the last slot first
                if self._clock() + wait > deadline:
                    raise RateLimited(
                        f"{vendor} request budget ({rate}) spent; try again in {wait:.1f}s",
                        retry_after=wait,
                        vendor=vendor,
                    )
                self._sleep(wait)
        except StorageError:
            # The vendor still enforces its own limit (429 + Retry-After): better to call
            # it than to stop all work because the counter store is down.
            logger.warning("rate limit storage unavailable; not throttling %s", vendor)

    def clear(self, vendor: str, account: str, rate: str) -> None:
        """Forget the spent budget for one account (tests, manual resets)."""
        for item in self._parse(rate):
            self.limiter.clear(item, f"{vendor}:{account}")


class NoThrottle(Throttle):
    """A throttle that never waits (for tests that are not about throttling)."""

    def __init__(self) -> None:
        pass

    def acquire(self, vendor: str, account: str, rate: str) -> None:
        return None

    def clear(self, vendor: str, account: str, rate: str) -> None:
        return None


_throttle: Throttle | None = None
_throttle_lock = threading.Lock()


def get_throttle() -> Throttle:
    """The process-wide throttle, built from settings.RATE_LIMIT_STORAGE_URL on first use."""
    global _throttle
    with _throttle_lock:
        if _throttle is None:
            _throttle = Throttle(settings.RATE_LIMIT_STORAGE_URL)
        return _throttle


def set_throttle(throttle: Throttle | None) -> None:
    """Replace the process-wide throttle (None: rebuild from settings on next use)."""
    global _throttle
    with _throttle_lock:
        _throttle = throttle
