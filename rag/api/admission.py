"""A key's request is admitted or refused before its body is read: who sent it (one key
lookup), whether the key is within its rate limit, and how many of its requests are in
flight.

FastAPI reads and parses a request's body before the first dependency runs. Deciding in a
dependency would let a key over its budget still make the service read and parse a megabyte
per request, and a key with many connections open would share the CPU out among its own
requests at every other tenant's expense. Here a refused request costs a header lookup.

``ExportSlots`` admits audit exports the same way, service-wide: each one streams for as
long as its client reads.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from starlette.types import ASGIApp, Receive, Scope, Send

from rag.api.errors import DATABASE_ERRORS, error_response
from rag.api.observability import route_template
from rag.core.errors import (
    DatabaseUnavailable,
    RagtrustError,
    RateLimited,
    TooManyExports,
    TooManyInFlight,
    Unauthorized,
)
from rag.keys import KeyStore, Principal

log = logging.getLogger("ragtrust.http")

# Key lookups get threads of their own: the default pool runs the heavy work (PII detection,
# embedding, indexing), and a caller who fills it must not lock every tenant out.
_KEY_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ragtrust-auth")


async def lookup_key(keys: KeyStore, key: str) -> Principal | None:
    """The key's principal (None: unknown or revoked), from a database query on the
    authentication threads, with the request's context (its id in the logs)."""
    call = partial(contextvars.copy_context().run, keys.authenticate, key)
    return await asyncio.get_running_loop().run_in_executor(_KEY_LOOKUPS, call)


class KeyAdmissionMiddleware:
    """Requests to ``prefix`` that carry a bearer key. One without a key passes on, and the
    route's dependency answers 401 as before (the anonymous limit counts it)."""

    def __init__(self, app: ASGIApp, max_in_flight: int, prefix: str = "/v1/") -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.prefix = prefix
        self.in_flight: Counter[str] = Counter()  # key id -> requests being answered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _bearer(scope) if scope["type"] == "http" else None
        if token is None or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.ragtrust
        try:
            principal = await lookup_key(state.keys, token)
        except DATABASE_ERRORS as exc:  # outside the app, so its exception handlers
            log.warning("key lookup: database unavailable (%s)", type(exc).__name__)
            down = DatabaseUnavailable("the database is unavailable; retry shortly")
            await _refuse(down, scope, receive, send, {"Retry-After": str(down.retry_after_s)})
            return
        if principal is None:
            error = Unauthorized("invalid or revoked API key")
            await _refuse(error, scope, receive, send, {"WWW-Authenticate": "Bearer"})
            return
        scope.setdefault("state", {})["principal"] = principal  # for the dependency and logs
        key = principal.key_id
        try:
            await state.rate_limiter.check(key)
            if self.in_flight[key] >= self.max_in_flight:
                raise TooManyInFlight(
                    f"this key already has {self.max_in_flight} requests in flight "
                    "(RAGTRUST_MAX_IN_FLIGHT_PER_KEY); wait for one to finish"
                )
        except RateLimited as exc:
            request_id = scope["state"].get("request_id", "-")
            state.recorder.refused(principal, route_template(scope), request_id, 429, exc.code)
            await _refuse(exc, scope, receive, send, {"Retry-After": str(exc.retry_after_s)})
            return
        self.in_flight[key] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[key] -= 1
            if not self.in_flight[key]:
                del self.in_flight[key]


def _bearer(scope: Scope) -> str | None:
    """The credentials of an ``Authorization: Bearer ...`` header, as FastAPI's HTTPBearer
    reads them."""
    value = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
    scheme, _, credentials = value.partition(" ")
    return credentials or None if scheme.lower() == "bearer" else None


async def _refuse(
    error: RagtrustError, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
) -> None:
    response = error_response(error.status_code, error.message, error.code, error.type, headers)
    await response(scope, receive, send)


class ExportSlots:
    """At most ``limit`` exports stream at once: each holds a worker thread while a page is
    read, and a client reading slowly keeps its slot until it finishes or goes away."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0
        # take() runs on the event loop, give_back() where the body is read: a sync body
        # iterator runs on a worker thread, so the count needs a lock.
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.taken >= self.limit:
                raise TooManyExports(
                    f"{self.limit} audit exports are already running "
                    "(RAGTRUST_AUDIT_MAX_EXPORTS); retry later"
                )
            self.taken += 1

    def give_back(self) -> None:
        with self._lock:
            self.taken -= 1
