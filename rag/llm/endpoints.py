"""Several vLLM servers serving one model, used as one client.

Each tenant keeps to one server: its prompts share a long prefix (system prompt, its own
chunks), and vLLM's prefix cache (salted per tenant) only pays off where that prefix was seen
before. So the servers are ranked per request by rendezvous hashing of the tenant's cache salt
(highest random weight): the same tenant gets the same order on every replica, and adding or
removing a server moves only the tenants whose first choice it was.

A server that refuses connections, drops them, or answers 5xx is put last for
``rest_s`` seconds and the request goes to the next one; a timeout is not failed over (the
slow server may still be working on it, and a second try doubles the load that made it
slow). A stream fails over only before its first token: after that the caller has text that
another server would not continue.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from rag.core.errors import LLMError, LLMServerError, LLMUnavailable
from rag.llm.client import Completion, Message, OpenAICompatibleClient, SampleCap

log = logging.getLogger("ragtrust.llm")

T = TypeVar("T")
FAILOVER = (LLMUnavailable, LLMServerError)
"""What another server may answer instead: the request never reached a working model."""


@runtime_checkable
class ReportsEndpoints(Protocol):
    """A client that can say how each of its servers is doing (``/readyz``, metrics)."""

    def endpoint_status(self) -> dict[str, EndpointState]: ...


@dataclass(frozen=True)
class EndpointState:
    up: bool
    failovers: int
    """Requests this server failed that another one was asked instead (or that failed)."""


@dataclass
class Endpoint:
    name: str
    client: OpenAICompatibleClient
    failed_at: float | None = None
    failovers: int = 0

    @property
    def up(self) -> bool:
        return self.failed_at is None


def rank(key: str, names: Sequence[str]) -> list[int]:
    """Indexes of ``names`` in rendezvous order for ``key``: stable for a key, independent of
    the order the servers were listed in, one server's removal moving only its own keys."""

    def weight(i: int) -> bytes:
        return hashlib.sha256(f"{key}\x00{names[i]}".encode()).digest()

    return sorted(range(len(names)), key=weight, reverse=True)


class EndpointPool:
    supports_logprobs = True

    def __init__(self, clients: Sequence[OpenAICompatibleClient], *, rest_s: float = 5.0) -> None:
        if not clients:
            raise ValueError("an endpoint pool needs at least one client")
        self.endpoints = [Endpoint(f"llm-{i}", c) for i, c in enumerate(clients)]
        self.model = clients[0].model
        self.rest_s = rest_s
        self._ids = [c.base_url for c in clients]

    def order(self, key: str | None) -> list[Endpoint]:
        """The tenant's servers, first choice first; one that failed less than ``rest_s``
        ago goes last (still tried when every other one fails too)."""
        ranked = [self.endpoints[i] for i in rank(key or "", self._ids)]
        now = time.monotonic()
        return sorted(
            ranked, key=lambda e: e.failed_at is not None and now - e.failed_at < self.rest_s
        )

    def _failed(self, ep: Endpoint, exc: LLMError) -> None:
        ep.failed_at = time.monotonic()
        ep.failovers += 1
        log.warning("LLM endpoint %s (%s) failed: %s", ep.name, ep.client.base_url, exc.message)

    async def _first_that_answers(
        self, key: str | None, call: Callable[[OpenAICompatibleClient], Awaitable[T]]
    ) -> T:
        last: Exception | None = None
        for ep in self.order(key):
            try:
                result = await call(ep.client)
            except FAILOVER as exc:
                self._failed(ep, exc)
                last = exc
                continue
            ep.failed_at = None
            return result
        assert last is not None
        raise last

    async def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        logprobs: bool = False,
        cache_salt: str | None = None,
        top_logprobs: int = 0,
    ) -> Completion:
        return await self._first_that_answers(cache_salt, lambda c: c.chat(
            messages, max_tokens=max_tokens, temperature=temperature, logprobs=logprobs,
            cache_salt=cache_salt, top_logprobs=top_logprobs,
        ))  # fmt: skip

    async def sample(
        self,
        messages: list[Message],
        *,
        n: int,
        max_tokens: int,
        temperature: float = 0.8,
        cache_salt: str | None = None,
        cap: SampleCap | None = None,
    ) -> list[Completion]:
        return await self._first_that_answers(cache_salt, lambda c: c.sample(
            messages, n=n, max_tokens=max_tokens, temperature=temperature,
            cache_salt=cache_salt, cap=cap,
        ))  # fmt: skip

    async def continuation_logprobs(
        self, messages: list[Message], continuation: str, *, cache_salt: str | None = None
    ) -> list[float]:
        return await self._first_that_answers(
            cache_salt,
            lambda c: c.continuation_logprobs(messages, continuation, cache_salt=cache_salt),
        )

    async def chat_stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        logprobs: bool = False,
        cache_salt: str | None = None,
    ) -> AsyncIterator[str | Completion]:
        async def opened(
            c: OpenAICompatibleClient,
        ) -> tuple[AsyncGenerator[str | Completion, None], str | Completion]:
            """The stream and its first item: a server that fails before it is failed over."""
            stream = c.chat_stream(
                messages, max_tokens=max_tokens, logprobs=logprobs, cache_salt=cache_salt
            )
            try:
                return stream, await anext(stream)
            except BaseException:
                await stream.aclose()
                raise

        stream, first = await self._first_that_answers(cache_salt, opened)
        async with aclosing(stream):
            yield first
            async for item in stream:
                yield item

    async def ready(self) -> bool:
        """Asks every server; each one's answer is its state until traffic says otherwise."""
        answers = await asyncio.gather(*(e.client.ready() for e in self.endpoints))
        now = time.monotonic()
        for ep, ok in zip(self.endpoints, answers, strict=True):
            if ok:
                ep.failed_at = None
            elif ep.failed_at is None:
                ep.failed_at = now
        return any(answers)

    def endpoint_status(self) -> dict[str, EndpointState]:
        return {e.name: EndpointState(e.up, e.failovers) for e in self.endpoints}

    async def aclose(self) -> None:
        await asyncio.gather(*(e.client.aclose() for e in self.endpoints))
