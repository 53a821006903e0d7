"""EndpointPool's routing and failover logic, on scripted clients (the real servers and a
fault proxy: tests/api/test_llm_endpoints.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator

import pytest

from rag.core.errors import ContextTooLong, LLMError, LLMServerError, LLMTimeout, LLMUnavailable
from rag.llm.client import Completion, Message, OpenAICompatibleClient
from rag.llm.endpoints import EndpointPool, rank

MESSAGES: list[Message] = [{"role": "user", "content": "q"}]


class Scripted(OpenAICompatibleClient):
    """A client whose next calls fail with ``errors`` (then answer), counting its calls."""

    def __init__(self, url: str, *errors: LLMError, ready: bool = True) -> None:
        super().__init__(url, "m")
        self.errors = list(errors)
        self.calls = 0
        self.is_ready = ready
        self.fail_mid_stream: LLMError | None = None

    def _next(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)

    async def chat(self, messages: list[Message], **kw: object) -> Completion:  # type: ignore[override]
        self._next()
        return Completion(self.base_url, 1, 1, "stop", "m")

    async def chat_stream(  # type: ignore[override]
        self, messages: list[Message], **kw: object
    ) -> AsyncGenerator[str | Completion, None]:
        self._next()
        yield "a"
        if self.fail_mid_stream is not None:
            raise self.fail_mid_stream
        yield Completion(self.base_url, 1, 1, "stop", "m")

    async def ready(self) -> bool:
        return self.is_ready


def urls(n: int) -> list[str]:
    return [f"http://gpu{i}:8000/v1" for i in range(n)]


def preferring(pool: EndpointPool, index: int) -> str:
    """A routing key (a tenant's cache salt) whose first choice is endpoint ``index``."""
    return next(k for k in map(str, range(1000)) if pool.order(k)[0] is pool.endpoints[index])


def test_each_key_keeps_its_order_whatever_order_the_servers_are_listed_in() -> None:
    names = urls(3)
    for key in map(str, range(50)):
        first = names[rank(key, names)[0]]
        assert first == names[::-1][rank(key, names[::-1])[0]]


def test_removing_a_server_moves_only_the_keys_that_preferred_it() -> None:
    names = urls(4)
    keys = [f"tenant-{i}" for i in range(2000)]
    before = {k: names[rank(k, names)[0]] for k in keys}
    after = {k: names[:3][rank(k, names[:3])[0]] for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert all(before[k] == names[3] for k in moved)
    share = Counter(before.values())
    assert all(400 < share[n] < 600 for n in names), share  # about 500 each


async def test_a_server_that_refuses_hands_the_request_to_the_next_and_rests() -> None:
    pool = EndpointPool([Scripted(urls(2)[0]), Scripted(urls(2)[1])], rest_s=60)
    key = preferring(pool, 0)
    first, second = (e.client for e in pool.endpoints)
    assert isinstance(first, Scripted)
    first.errors = [LLMUnavailable("refused")]
    got = await pool.chat(MESSAGES, max_tokens=1, cache_salt=key)
    assert got.text == second.base_url and first.calls == 1
    status = pool.endpoint_status()
    assert not status["llm-0"].up and status["llm-0"].failovers == 1 and status["llm-1"].up
    # Resting: the next request goes straight to the second server.
    await pool.chat(MESSAGES, max_tokens=1, cache_salt=key)
    assert first.calls == 1


async def test_a_rested_server_gets_its_tenants_back_once_it_answers() -> None:
    pool = EndpointPool([Scripted(u) for u in urls(2)], rest_s=0)
    key = preferring(pool, 0)
    first = pool.endpoints[0].client
    assert isinstance(first, Scripted)
    first.errors = [LLMServerError("HTTP 500")]
    await pool.chat(MESSAGES, max_tokens=1, cache_salt=key)
    got = await pool.chat(MESSAGES, max_tokens=1, cache_salt=key)
    assert got.text == first.base_url and pool.endpoint_status()["llm-0"].up


@pytest.mark.parametrize(
    "error",
    [ContextTooLong("too long"), LLMTimeout("slow"), LLMError("HTTP 429")],
    ids=["4xx-prompt", "timeout", "other-status"],
)
async def test_what_another_server_would_answer_the_same_is_not_failed_over(
    error: LLMError,
) -> None:
    pool = EndpointPool([Scripted(u) for u in urls(2)])
    key = preferring(pool, 0)
    first, second = (e.client for e in pool.endpoints)
    assert isinstance(first, Scripted) and isinstance(second, Scripted)
    first.errors = [error]
    with pytest.raises(type(error)):
        await pool.chat(MESSAGES, max_tokens=1, cache_salt=key)
    assert second.calls == 0 and pool.endpoint_status()["llm-0"].up


async def test_when_every_server_fails_the_last_error_is_raised() -> None:
    pool = EndpointPool([Scripted(u, LLMUnavailable(f"down {u}")) for u in urls(3)])
    with pytest.raises(LLMUnavailable):
        await pool.chat(MESSAGES, max_tokens=1, cache_salt="t")
    assert all(not s.up and s.failovers == 1 for s in pool.endpoint_status().values())


async def test_a_stream_fails_over_before_its_first_token_only() -> None:
    pool = EndpointPool([Scripted(u) for u in urls(2)], rest_s=0)
    key = preferring(pool, 0)
    first, second = (e.client for e in pool.endpoints)
    assert isinstance(first, Scripted) and isinstance(second, Scripted)
    first.errors = [LLMUnavailable("refused")]
    items = [x async for x in pool.chat_stream(MESSAGES, max_tokens=1, cache_salt=key)]
    assert isinstance(items[-1], Completion) and items[-1].text == second.base_url
    # After text has gone out, another server would not continue it: the error stands.
    first.fail_mid_stream = LLMUnavailable("broke off")
    with pytest.raises(LLMUnavailable):
        async for _ in pool.chat_stream(MESSAGES, max_tokens=1, cache_salt=key):
            pass
    assert second.calls == 1


async def test_ready_asks_every_server_and_is_true_while_one_answers() -> None:
    pool = EndpointPool([Scripted(urls(2)[0], ready=False), Scripted(urls(2)[1])])
    assert await pool.ready()
    assert {n: s.up for n, s in pool.endpoint_status().items()} == {"llm-0": False, "llm-1": True}
    for e in pool.endpoints:
        assert isinstance(e.client, Scripted)
        e.client.is_ready = not e.client.is_ready
    assert await pool.ready()
    assert {n: s.up for n, s in pool.endpoint_status().items()} == {"llm-0": True, "llm-1": False}
