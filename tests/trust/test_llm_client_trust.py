"""The client's trust additions against the real vLLM: n samples in one request, the
logprobs of a given answer, and top logprobs for a grade token."""

from __future__ import annotations

import pytest

from rag.llm.client import OpenAICompatibleClient, SampleCap, SamplingLLMClient
from rag.llm.prompts import Source, answer_messages, reflection_messages
from tests.support import LLMEndpoint
from trust.reflection import p_yes

pytestmark = pytest.mark.integration

SOURCES = [Source("Oberoi", "The Oberoi Group is a hotel company with its head office in Delhi.")]
QUESTION = "Where is the Oberoi Group's head office?"


async def test_sample_returns_k_choices_from_one_request(llm: LLMEndpoint) -> None:
    client = OpenAICompatibleClient(llm.base_url, llm.model, api_key=llm.api_key)
    try:
        assert isinstance(client, SamplingLLMClient)
        out = await client.sample(answer_messages(QUESTION, SOURCES), n=3, max_tokens=8,
                                  temperature=0.9, cache_salt="tenant-a")  # fmt: skip
    finally:
        await client.aclose()
    assert len(out) == 3
    assert all(c.text.strip() and 0 < c.completion_tokens <= 8 for c in out)
    assert all(len(c.token_logprobs) == c.completion_tokens for c in out)


async def test_samples_end_with_the_answer_they_are_drawn_beside(llm: LLMEndpoint) -> None:
    """The cap (set here before they start; the pipeline sets it when the answer ends) closes
    the samples' stream once each has the answer's length, and vLLM aborts the request;
    without one they run to max_tokens or their end."""
    client = OpenAICompatibleClient(llm.base_url, llm.model, api_key=llm.api_key)
    messages = answer_messages("Write a long story about the Oberoi Group.", SOURCES)
    cap = SampleCap(floor=4)
    try:
        capped = client.sample(messages, n=3, max_tokens=48, temperature=1.0, cap=cap)
        cap.answer_done(4)
        out = await capped
        free = await client.sample(messages, n=3, max_tokens=48, temperature=1.0)
    finally:
        await client.aclose()
    assert all(c.finish_reason == "stop" or 4 <= c.completion_tokens <= 8 for c in out)
    assert all(len(c.token_logprobs) == c.completion_tokens for c in out)
    assert out[0].prompt_tokens == free[0].prompt_tokens > 0
    assert max(c.completion_tokens for c in free) > 8


async def test_continuation_logprobs_cover_the_given_answer(llm: LLMEndpoint) -> None:
    client = OpenAICompatibleClient(llm.base_url, llm.model, api_key=llm.api_key)
    messages = answer_messages(QUESTION, SOURCES)
    try:
        right = await client.continuation_logprobs(messages, "The head office is in Delhi.")
        wrong = await client.continuation_logprobs(messages, "The head office is in Oslo.")
        assert await client.continuation_logprobs(messages, "  ") == []
    finally:
        await client.aclose()
    assert 5 <= len(right) <= 12 and len(right) == len(wrong)
    assert all(lp <= 0 for lp in right)
    # Same tokens but the city: the context makes Delhi the likelier one.
    assert sum(right) > sum(wrong)


async def test_chat_reports_top_logprobs_of_a_grade_token(llm: LLMEndpoint) -> None:
    client = OpenAICompatibleClient(llm.base_url, llm.model, api_key=llm.api_key)
    try:
        grade = await client.chat(reflection_messages(QUESTION, SOURCES, "Delhi"), max_tokens=1,
                                  top_logprobs=10)  # fmt: skip
    finally:
        await client.aclose()
    assert len(grade.top_logprobs) == 1 and len(grade.top_logprobs[0]) >= 5
    assert p_yes(grade.top_logprobs[0]) is not None
