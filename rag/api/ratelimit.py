"""Per-key request budgets."""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from rag.core.errors import RateLimited


class KeyRateLimiter:
    """A moving window per key (``limits``), in process memory: one service process per
    host; behind several, point ``limits`` at Redis instead."""

    def __init__(self, rate: str) -> None:
        self.item: RateLimitItem | None = parse(rate) if rate else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, key_id: str) -> None:
        if self.item is None or self._limiter.hit(self.item, key_id):
            return
        stats = self._limiter.get_window_stats(self.item, key_id)
        wait = int(stats.reset_time - time.time()) + 1
        raise RateLimited(f"rate limit of {self.item} per key exceeded; retry later", wait)
