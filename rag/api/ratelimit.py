"""Request budgets: per API key, and per client address for requests that do not
authenticate; in process memory, or in a store every replica shares
(``RAGTRUST_RATE_LIMIT_STORAGE_URL``, e.g. Redis), so that N replicas behind a load balancer
grant a key its budget once, not N times."""

from __future__ import annotations

import logging
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.errors import error_response
from rag.core.errors import RateLimited

log = logging.getLogger("ragtrust.http")

STORE_TIMEOUT_S = 1.0
STORE_REST_S = 10.0


def limit_storage(url: str) -> Storage:
    """The budgets' store: ``""`` is this process's memory; else a ``limits`` storage URL
    (``redis://host:6379/0``, ``redis+sentinel://...``), used through its asyncio client."""
    if not url:
        return storage_from_string("async+memory://")  # type: ignore[return-value]
    url = url if url.startswith("async+") else f"async+{url}"
    options: dict[str, float] = {}
    if "redis" in url.split("://", 1)[0]:
        options = {"connect_timeout": STORE_TIMEOUT_S, "stream_timeout": STORE_TIMEOUT_S}
    return storage_from_string(url, wrap_exceptions=True, **options)  # type: ignore[return-value]


class Budgets:
    """A moving window per identity over one store. A store that fails is skipped for
    ``STORE_REST_S`` (requests pass, a warning is logged once): a rate limiter that is down
    must not take every tenant's requests down with it, nor make each wait for its timeout."""

    def __init__(self, rate: str, storage_url: str, namespace: str) -> None:
        self.item: RateLimitItem | None = parse(rate) if rate else None
        self.namespace = namespace
        self._url = storage_url
        self._limiter: MovingWindowRateLimiter | None = None
        self._resting_until = 0.0

    def _strategy(self) -> MovingWindowRateLimiter:
        # Built on first use, inside the service's event loop (async clients bind to it).
        if self._limiter is None:
            self._limiter = MovingWindowRateLimiter(limit_storage(self._url))
        return self._limiter

    def _failed(self, exc: StorageError) -> None:
        if time.monotonic() >= self._resting_until:
            log.warning("rate-limit store unavailable (%s); not limiting for %g s",
                        type(exc.storage_error).__name__, STORE_REST_S)  # fmt: skip
        self._resting_until = time.monotonic() + STORE_REST_S

    async def hit(self, who: str) -> float | None:
        """Count one request of ``who``; the seconds until it may send again when over."""
        return await self._ask(who, count=True)

    async def over(self, who: str) -> float | None:
        """Like ``hit`` without counting: the seconds to wait when already over."""
        return await self._ask(who, count=False)

    async def _ask(self, who: str, *, count: bool) -> float | None:
        if self.item is None or time.monotonic() < self._resting_until:
            return None
        limiter = self._strategy()
        try:
            check = limiter.hit if count else limiter.test
            if await check(self.item, self.namespace, who):
                return None
            stats = await limiter.get_window_stats(self.item, self.namespace, who)
        except StorageError as exc:
            self._failed(exc)
            return None
        return stats.reset_time - time.time()


class KeyRateLimiter:
    """The per-key budget (``RAGTRUST_RATE_LIMIT``)."""

    def __init__(self, rate: str, storage_url: str = "") -> None:
        self.budgets = Budgets(rate, storage_url, "ragtrust-key")

    @property
    def item(self) -> RateLimitItem | None:
        return self.budgets.item

    async def check(self, key_id: str) -> None:
        wait = await self.budgets.hit(key_id)
        if wait is not None:
            raise RateLimited(f"rate limit of {self.item} per key exceeded; retry later",
                              int(wait) + 1)  # fmt: skip


class AnonymousLimitMiddleware:
    """Requests to the API that fail to authenticate (no key, or a 401), counted per client
    address; an address over its budget is refused with a 429 before its body is read.

    FastAPI reads and parses a request's body before the dependency that checks its key
    runs, so without this anybody could make the service parse a megabyte of JSON per request
    without a key. Behind a proxy, uvicorn's ``--forwarded-allow-ips`` makes the address the
    client's. An address over the budget is refused whatever key it sends, until the window
    moves on: the limit cannot tell a valid key from a guessed one without the lookup it is
    there to spare."""

    def __init__(
        self, app: ASGIApp, rate: str, storage_url: str = "", prefix: str = "/v1/"
    ) -> None:
        self.app = app
        self.budgets = Budgets(rate, storage_url, "ragtrust-address")
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        item = self.budgets.item
        if item is None or scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown",))[0]
        if (wait := await self.budgets.over(address)) is not None:
            message = f"too many unauthenticated requests from this address ({item}); retry later"
            headers = {"Retry-After": str(int(wait) + 1)}
            response = error_response(429, message, RateLimited.code, headers=headers)
            await response(scope, receive, send)
            return
        if not any(k == b"authorization" for k, _ in scope.get("headers", [])):
            await self.budgets.hit(address)
            await self.app(scope, receive, send)
            return

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                await self.budgets.hit(address)
            await send(message)

        await self.app(scope, receive, watching)
