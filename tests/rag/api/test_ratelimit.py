"""The request budgets, in memory and in a real Redis shared by two limiters (two replicas),
and what a store that is down does to requests (nothing: they pass, after one warning)."""

from __future__ import annotations

import logging
import time

import pytest

from rag.api.ratelimit import Budgets, KeyRateLimiter
from rag.core.errors import RateLimited
from rag.stack import free_port
from tests.redis_server import RedisServer


async def test_in_memory_a_budget_refuses_past_its_rate_with_the_wait() -> None:
    budgets = Budgets("2/minute", "", "ragtrust-key")
    assert [await budgets.hit("k") for _ in range(2)] == [None, None]
    wait = await budgets.hit("k")
    assert wait is not None and 0 < wait <= 60
    assert await budgets.hit("other") is None


async def test_replicas_on_one_redis_share_each_keys_budget(redis: RedisServer) -> None:
    a = KeyRateLimiter("3/minute", redis.url)
    b = KeyRateLimiter("3/minute", redis.url)
    key = f"key-{time.time_ns()}"
    await a.check(key)
    await b.check(key)
    await a.check(key)
    with pytest.raises(RateLimited) as refused:
        await b.check(key)
    assert 1 <= refused.value.retry_after_s <= 61
    # The address budget is another namespace: the same identity there is untouched.
    assert await Budgets("3/minute", redis.url, "ragtrust-address").hit(key) is None


async def test_a_store_that_is_down_lets_requests_pass_and_is_not_asked_again_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    budgets = Budgets("1/minute", f"redis://127.0.0.1:{free_port()}/0", "ragtrust-key")
    with caplog.at_level(logging.WARNING, "ragtrust.http"):
        assert await budgets.hit("k") is None
        t0 = time.monotonic()
        assert [await budgets.hit("k") for _ in range(5)] == [None] * 5
    assert time.monotonic() - t0 < 0.1  # resting: no connection attempt per request
    warnings = [r for r in caplog.records if "rate-limit store unavailable" in r.message]
    assert len(warnings) == 1
