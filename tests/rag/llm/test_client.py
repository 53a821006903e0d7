"""The async client against the real vLLM server, and against endpoints that fail."""

from __future__ import annotations

import pytest

from rag.core.errors import LLMTimeout, LLMUnavailable
from rag.llm.client import OpenAICompatibleClient, SampleCap
from rag.stack import free_port
from tests.support import LLMEndpoint

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Name the capital of France in one word."}]


async def test_chat_returns_text_usage_and_logprobs(llm: LLMEndpoint) -> None:
    client = OpenAICompatibleClient(llm.base_url, llm.model, api_key=llm.api_key)
    try:
        out = await client.chat(MESSAGES, max_tokens=8, logprobs=True, cache_salt="tenant-a")
    finally:
        await client.aclose()
    assert out.text.strip()
    assert out.completion_tokens == len(out.token_logprobs) > 0
    assert all(lp <= 0 for lp in out.token_logprobs)
    assert out.prompt_tokens > 0 and out.model == llm.model


async def test_ready_is_true_for_the_served_model_only(llm: LLMEndpoint) -> None:
    good = OpenAICompatibleClient(llm.base_url, llm.model, api_key=llm.api_key)
    wrong = OpenAICompatibleClient(llm.base_url, "not-served", api_key=llm.api_key)
    try:
        assert await good.ready() is True
        assert await wrong.ready() is False
    finally:
        await good.aclose()
        await wrong.aclose()


async def test_a_down_server_is_a_clear_error_not_a_hang() -> None:
    client = OpenAICompatibleClient(f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=5)
    try:
        with pytest.raises(LLMUnavailable, match="not reachable"):
            await client.chat(MESSAGES, max_tokens=4)
        assert await client.ready() is False
    finally:
        await client.aclose()


async def test_a_slow_answer_times_out(llm: LLMEndpoint) -> None:
    client = OpenAICompatibleClient(llm.base_url, llm.model, api_key=llm.api_key, timeout_s=0.05)
    try:
        with pytest.raises(LLMTimeout):
            await client.chat(MESSAGES, max_tokens=200)
    finally:
        await client.aclose()


def test_a_sample_cap_waits_for_the_answer_then_for_every_unfinished_sample() -> None:
    cap = SampleCap(floor=8)
    assert not cap.reached([40, 40], [False, False])  # the answer is still running
    cap.answer_done(3)
    assert cap.tokens == 8  # a one-word answer still gets samples that can differ
    assert not cap.reached([9, 5], [False, False])
    assert cap.reached([9, 5], [False, True])  # the short one ended by itself
    cap.answer_done(20)
    assert cap.reached([20, 21], [False, False])
