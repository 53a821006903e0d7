"""The CPU-bound steps of requests (retrieval, PII detection, quote selection) take turns by
tenant.

Left to the thread pool's first-come order, a tenant with sixteen answers in flight gets
sixteen turns for every one of another tenant's: measured, the other tenant's answer went
from 13 ms to 208 ms p50 (``bench.fair_share``). Here at most ``slots`` such steps run at
once (about the number of cores: more would only share the same cores thinner), and a freed
slot goes to the waiting tenant with the fewest steps running (among equals, the one served
longest ago), so one tenant's one request waits for at most a slot, never for another
tenant's queue. The slots are all a single tenant's when nobody else asks: nothing is
reserved.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FairShare:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self.running: Counter[str] = Counter()  # tenant -> steps running
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._granted = 0
        self._last: dict[str, int] = {}  # tenant -> when it was last given a slot

    @asynccontextmanager
    async def turn(self, tenant: str) -> AsyncIterator[None]:
        """Wait for a slot (the tenant's turn), hold it for the block."""
        await self._acquire(tenant)
        try:
            yield
        finally:
            self._release(tenant)

    @property
    def busy(self) -> int:
        return self.running.total()

    async def _acquire(self, tenant: str) -> None:
        if self.busy < self.slots and not self._waiting:
            self._take(tenant)
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(tenant, deque()).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release(tenant)  # granted, then cancelled before it ran: pass it on
            else:
                self._forget(tenant, granted)
            raise

    def _take(self, tenant: str) -> None:
        self.running[tenant] += 1
        self._granted += 1
        self._last[tenant] = self._granted

    def _release(self, tenant: str) -> None:
        self.running[tenant] -= 1
        if not self.running[tenant]:
            del self.running[tenant]
            if tenant not in self._waiting:
                del self._last[tenant]
        self._wake()

    def _wake(self) -> None:
        while self.busy < self.slots and self._waiting:
            tenant = min(self._waiting, key=lambda t: (self.running[t], self._last.get(t, 0)))
            queue = self._waiting[tenant]
            granted = queue.popleft()
            if not queue:
                del self._waiting[tenant]
            if granted.cancelled():
                continue
            self._take(tenant)
            granted.set_result(None)

    def _forget(self, tenant: str, granted: asyncio.Future[None]) -> None:
        queue = self._waiting.get(tenant)
        if queue is not None and granted in queue:
            queue.remove(granted)
            if not queue:
                del self._waiting[tenant]
                if tenant not in self.running:
                    self._last.pop(tenant, None)
