"""Request budgets: per API key, and per client address for requests that do not
authenticate."""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.errors import error_response
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


class AnonymousLimitMiddleware:
    """Requests to the API that fail to authenticate (no key, or a 401), counted per client
    address; an address over its budget is refused with a 429 before its body is read.

    FastAPI reads and parses a request's body before the dependency that checks its key
    runs, so without this anybody could make the service parse a megabyte of JSON per request
    without a key. Behind a proxy, uvicorn's ``--forwarded-allow-ips`` makes the address the
    client's. An address over the budget is refused whatever key it sends, until the window
    moves on: the limit cannot tell a valid key from a guessed one without the lookup it is
    there to spare."""

    def __init__(self, app: ASGIApp, rate: str, prefix: str = "/v1/") -> None:
        self.app = app
        self.item: RateLimitItem | None = parse(rate) if rate else None
        self.prefix = prefix
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        item = self.item
        if item is None or scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown",))[0]
        if not self._limiter.test(item, address):
            reset = self._limiter.get_window_stats(item, address).reset_time
            wait = str(int(reset - time.time()) + 1)
            message = f"too many unauthenticated requests from this address ({item}); retry later"
            response = error_response(429, message, RateLimited.code, headers={"Retry-After": wait})
            await response(scope, receive, send)
            return
        if not any(k == b"authorization" for k, _ in scope.get("headers", [])):
            self._limiter.hit(item, address)
            await self.app(scope, receive, send)
            return

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self._limiter.hit(item, address)
            await send(message)

        await self.app(scope, receive, watching)
