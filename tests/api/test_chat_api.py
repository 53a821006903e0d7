"""The OpenAI-compatible surface through the official ``openai`` client, against the real
service and the real vLLM: what a chat UI backend does, unchanged."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.support import Service

pytestmark = pytest.mark.integration

QUESTION = "How many vacation days do full-time employees get?"


def _client(service: Service, role: str = "user") -> OpenAI:
    return OpenAI(base_url=f"{service.url}/v1", api_key=service.key("demo", role), max_retries=0)


def _extension(obj: Any) -> dict[str, Any]:
    extra = obj.model_extra or {}
    assert "ragtrust" in extra, f"no ragtrust extension in {obj}"
    return dict(extra["ragtrust"])


def test_models_lists_the_model_chat_clients_send(service: Service) -> None:
    assert [m.id for m in _client(service).models.list()] == ["ragtrust"]


def test_openai_client_streams_and_reads_trust_from_the_last_chunk(service: Service) -> None:
    stream = _client(service).chat.completions.create(
        model="ragtrust",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(content) >= 2, "the answer should arrive in several deltas"
    assert chunks[0].choices[0].delta.role == "assistant"
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(final) == 1 and final[0].choices[0].finish_reason in {"stop", "length"}
    ext = _extension(final[0])
    assert 0.0 <= ext["trust"]["score"] <= 1.0
    assert ext["trust"]["preset"] == "balanced" and ext["trust"]["samples"] >= 1
    assert ext["citations"][0]["document_id"] == "hr-leave-policy.md"
    assert ext["cost"]["total"] == pytest.approx(ext["cost"]["answer"] + ext["cost"]["trust"])
    assert ext["request_id"].startswith("req_")
    usage = chunks[-1]
    assert usage.choices == [] and usage.usage is not None and usage.usage.completion_tokens > 0
    assert {c.id for c in chunks} == {f"chatcmpl-{ext['request_id']}"}


def test_non_streamed_completion_carries_the_same_extension(service: Service) -> None:
    resp = _client(service).chat.completions.create(
        model="ragtrust",
        messages=[{"role": "user", "content": QUESTION}],
        extra_body={"ragtrust": {"trust_preset": "fast", "top_k": 2}},
        temperature=0.7,  # accepted, and ignored: answers are greedy
    )
    assert resp.object == "chat.completion" and resp.choices[0].message.content
    ext = _extension(resp)
    assert ext["trust"]["preset"] == "fast" and len(ext["citations"]) == 2
    assert resp.usage is not None and resp.usage.total_tokens == ext["usage"]["total_tokens"]
    assert set(ext["timings_ms"]) >= {"retrieval", "privacy", "generation", "trust", "total"}


def test_a_follow_up_is_answered_with_the_earlier_turns(service: Service) -> None:
    resp = _client(service).chat.completions.create(
        model="ragtrust",
        messages=[
            {"role": "system", "content": "You are a pirate."},
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "Full-time employees get 30 vacation days [1]."},
            {"role": "user", "content": [{"type": "text", "text": "And how many carry over?"}]},
        ],
    )
    ext = _extension(resp)
    assert resp.choices[0].message.content
    assert any(c["document_id"] == "hr-leave-policy.md" for c in ext["citations"])


def test_openai_errors_map_to_openai_exceptions(service: Service) -> None:
    client = _client(service)
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert not_found.value.code == "not_found"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="ragtrust", messages=[{"role": "assistant", "content": "hi"}]
        )
    bad = OpenAI(base_url=f"{service.url}/v1", api_key="rt_nothing_here", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    auditor = _client(service, role="auditor")
    with pytest.raises(openai.PermissionDeniedError):
        auditor.chat.completions.create(
            model="ragtrust", messages=[{"role": "user", "content": "hi"}]
        )


def _events(resp: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in resp.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_answer_streams_deltas_then_the_whole_answer(service: Service) -> None:
    with service.client(role="user") as c:
        resp = c.post("/v1/answer", json={"question": QUESTION, "stream": True})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = _events(resp)
    kinds = [k for k, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"delta"} and len(kinds) > 2
    answer = events[-1][1]
    assert "".join(d["text"] for _, d in events[:-1]).strip() == answer["answer"]
    assert answer["trust"]["score"] is not None and answer["cost"]["currency"] == "USD"


def test_streamed_request_errors_before_the_stream_are_plain_json(service: Service) -> None:
    with service.client(role="user") as c:
        resp = c.post("/v1/answer", json={"question": "  ", "stream": True})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_request"
