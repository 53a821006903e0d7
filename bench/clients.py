"""The clients of ``ragtrust bench answer``'s arms: raw vLLM with the service's own prompts,
and ``/v1/answer`` over HTTP; and the statistics every arm is summarized with.

The prompts come from the pipeline's ``prepare`` step run in this process over the service's
index (retrieval, privacy, prompt), so the raw arm sends exactly what the service sends; equal
``prompt_tokens_mean`` across arms shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import platform
import statistics
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx

from rag import stack
from rag.core.errors import LLMError
from rag.core.settings import Settings
from rag.llm.client import Completion, Message, OpenAICompatibleClient
from rag.pipeline import AnswerPipeline
from rag.protocol import AnswerRequest
from rag.runtime import build_tenants
from retrieval.build import build_retriever

TIMEOUT_S = 900.0  # a wave of 16 queues behind itself: measure it, do not time it out


@dataclass(frozen=True)
class Sample:
    seconds: float
    ok: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0


def summary(samples: Sequence[Sample], wall_s: float) -> dict[str, Any]:
    ok = sorted(s.seconds for s in samples if s.ok)
    return {
        "requests": len(samples),
        "errors": len(samples) - len(ok),
        "p50_s": round(statistics.median(ok), 3) if ok else None,
        "p95_s": round(p95(ok), 3) if ok else None,
        "answers_per_s": round(len(ok) / wall_s, 4) if wall_s else None,
        "seconds": [round(s.seconds, 2) for s in samples],  # in question order, as sent
        # Equal across arms when they sent the same prompts and got the same greedy answers.
        "prompt_tokens_mean": _mean([s.prompt_tokens for s in samples if s.ok]),
        "completion_tokens_mean": _mean([s.completion_tokens for s in samples if s.ok]),
    }


def _mean(xs: Sequence[int]) -> float | None:
    return round(statistics.mean(xs), 1) if xs else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def paired(a: Sequence[Sample], b: Sequence[Sample]) -> float | None:
    """Median of per-request latency ratios ``a/b``: both arms asked the same questions in the
    same order, so how long each question's answer is cancels out (a p50 ratio of 8 requests
    mostly says which question landed in the middle)."""
    rs = [x.seconds / y.seconds for x, y in zip(a, b, strict=True) if x.ok and y.ok]
    return round(statistics.median(rs), 3) if rs else None


class Bench:
    """One service process, one vLLM client, the prompts; runs the arms."""

    def __init__(self, settings: Settings, svc: stack.ServiceProcess, llm: stack.LLM) -> None:
        self.settings = settings
        self.max_tokens = settings.max_answer_tokens  # as the service asks
        self.svc = svc
        self.vllm = OpenAICompatibleClient(
            llm.base_url, llm.model, api_key=llm.api_key, timeout_s=TIMEOUT_S
        )
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.http = httpx.AsyncClient(base_url=svc.url, timeout=TIMEOUT_S, limits=limits)
        self.keys: dict[str, str] = {}
        self.prompts: dict[str, list[Message]] = {}

    def tenant(self, name: str, corpus: Path) -> None:
        self.keys[name] = self.svc.key(name)
        stack.upload_corpus(self.svc.url, self.keys[name], corpus)

    async def build_prompts(self, tenant: str, questions: Sequence[str]) -> None:
        """The service's own prepare step (retrieval, privacy, prompt) in this process."""
        settings = self.svc.settings
        retriever = await asyncio.to_thread(build_retriever, settings)
        pipeline = await asyncio.to_thread(
            AnswerPipeline, settings, build_tenants(settings), retriever, self.vllm
        )
        for q in questions:
            req = AnswerRequest(question=q, trust_preset="off", answer_mode="generative")
            prep = await pipeline.prepare(tenant, req, request_id="bench")
            if not prep.messages:
                raise RuntimeError(f"nothing retrieved for {q!r}: questions must fit the corpus")
            self.prompts[q] = prep.messages

    async def raw(self, q: str, salt: str) -> Sample:
        t0 = time.perf_counter()
        try:
            done = await self.vllm.chat(
                self.prompts[q], max_tokens=self.max_tokens, logprobs=True, cache_salt=salt
            )
        except LLMError:
            return Sample(time.perf_counter() - t0, False)
        return Sample(time.perf_counter() - t0, True, done.prompt_tokens, done.completion_tokens)

    async def answer(self, q: str, tenant: str, preset: str | None, mode: str) -> Sample:
        body: dict[str, Any] = {"question": q, "answer_mode": mode}
        if preset:
            body["trust_preset"] = preset
        t0 = time.perf_counter()
        try:
            resp = await self.http.post("/v1/answer", headers=self._auth(tenant), json=body)
        except httpx.HTTPError:
            return Sample(time.perf_counter() - t0, False)
        seconds = time.perf_counter() - t0
        if resp.status_code != 200:
            return Sample(seconds, False)
        usage = resp.json()["usage"]
        return Sample(seconds, True, usage["prompt_tokens"] + usage["trust_tokens"],
                      usage["completion_tokens"])  # fmt: skip

    async def raw_ttft(self, q: str, salt: str) -> float:
        t0 = time.perf_counter()
        parts = self.vllm.chat_stream(
            self.prompts[q], max_tokens=self.max_tokens, logprobs=True, cache_salt=salt
        )
        stream = cast(AsyncGenerator[str | Completion, None], parts)
        async with contextlib.aclosing(stream):
            async for part in stream:
                if isinstance(part, str):
                    return time.perf_counter() - t0
        raise RuntimeError("vLLM streamed no content")

    async def service_ttft(self, q: str, tenant: str, preset: str | None, mode: str) -> float:
        """Seconds to the first ``delta`` event; the stream is then closed (the service stops
        the answer and its samples when the client goes away)."""
        body: dict[str, Any] = {"question": q, "stream": True, "answer_mode": mode}
        if preset:
            body["trust_preset"] = preset
        t0 = time.perf_counter()
        async with self.http.stream(
            "POST", "/v1/answer", headers=self._auth(tenant), json=body
        ) as resp:
            resp.raise_for_status()
            async for line in resp.aiter_lines():
                if line == "event: delta":
                    return time.perf_counter() - t0
                if line == "event: error":
                    break
        raise RuntimeError("the service streamed no delta")

    def _auth(self, tenant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.vllm.aclose()


def p95(xs: Sequence[float]) -> float:
    """Nearest rank: with 8 samples, the slowest."""
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()
