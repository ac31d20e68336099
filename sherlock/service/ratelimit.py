"""Per-caller rate limits in a moving window, by the ``limits`` library (the engine slowapi is built on).

slowapi itself is not used: its limits are fixed per route by decorators and its 429 is not a problem document,
while here each token may carry its own rate and every refusal is ``application/problem+json`` with ``Retry-After``.
Counts live in the process: with ``--workers N`` each worker counts on its own (a caller may reach N times the rate).
"""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any

#: ``<count>/<unit>``, e.g. ``600/minute`` (a plural unit is accepted too).
RATE = re.compile(r"\s*([1-9]\d*)\s*/\s*(second|minute|hour|day)s?\s*")


def parse_rate(text: str) -> tuple[int, str]:
    """``"600/minute"`` -> ``(600, "minute")``; ``ValueError`` saying what a rate looks like otherwise."""
    match = RATE.fullmatch(text)
    if not match:
        raise ValueError(f"rate limit {text!r}: give '<count>/<second|minute|hour|day>', e.g. 600/minute")
    return int(match[1]), match[2]


class RateLimiter:
    """Counts each caller's requests; :meth:`check` says whether one more is allowed."""

    def __init__(self) -> None:
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items: dict[str, Any] = {}
        self._lock = threading.Lock()

    def check(self, caller: str, rate: str) -> int | None:
        """Count a request of ``caller`` against ``rate``: None when allowed, else the whole seconds until one would
        be (for ``Retry-After``; at least 1)."""
        item = self._item(rate)
        if self._limiter.hit(item, caller):
            return None
        reset = self._limiter.get_window_stats(item, caller).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _item(self, rate: str) -> Any:
        with self._lock:
            if rate not in self._items:
                from limits import parse
                count, unit = parse_rate(rate)
                self._items[rate] = parse(f"{count}/{unit}")
            return self._items[rate]
