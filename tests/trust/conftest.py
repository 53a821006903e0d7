"""Fixtures for trust's tests: a scripted LLM that records its calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.core.errors import LLMUnavailable
from rag.llm.client import Completion, Message, SampleCap


def completion(text: str, logprobs: list[float] | None = None, **kw: Any) -> Completion:
    lps = logprobs if logprobs is not None else [-0.1] * max(1, len(text.split()))
    return Completion(text=text, prompt_tokens=100, completion_tokens=len(lps),
                      finish_reason="stop", model="fake", token_logprobs=lps, **kw)  # fmt: skip


@dataclass
class ScriptedLLM:
    """A SamplingLLMClient with scripted outputs and a call log (no server)."""

    samples: list[str] = field(default_factory=list)
    forced: list[float] = field(default_factory=lambda: [-0.2, -0.3])
    bare: list[float] = field(default_factory=lambda: [-2.0, -2.5])
    grade: dict[str, float] = field(default_factory=lambda: {"Yes": -0.2, "No": -1.8})
    fail: bool = False
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    model: str = "fake"
    supports_logprobs: bool = True

    async def chat(self, messages: list[Message], *, max_tokens: int, temperature: float = 0.0,
                   logprobs: bool = False, cache_salt: str | None = None,
                   top_logprobs: int = 0) -> Completion:  # fmt: skip
        self.calls.append(("chat", {"top_logprobs": top_logprobs, "cache_salt": cache_salt}))
        if self.fail:
            raise LLMUnavailable("scripted failure")
        return completion("Yes", [-0.2], top_logprobs=[self.grade])

    async def sample(
        self, messages: list[Message], *, n: int, max_tokens: int, temperature: float = 0.8,
        cache_salt: str | None = None, cap: SampleCap | None = None,
    ) -> list[Completion]:  # fmt: skip
        self.calls.append(("sample", {"n": n, "cache_salt": cache_salt, "messages": messages,
                                      "cap": cap}))  # fmt: skip
        if self.fail:
            raise LLMUnavailable("scripted failure")
        return [completion(s) for s in self.samples[:n]]

    async def continuation_logprobs(self, messages: list[Message], continuation: str, *,
                                    cache_salt: str | None = None) -> list[float]:  # fmt: skip
        # A numbered source block starts a line; the closing "cite them like [1]." does not.
        has_sources = "\n[1] " in messages[-1]["content"]
        self.calls.append(("forced", {"with_sources": has_sources, "continuation": continuation}))
        if self.fail:
            raise LLMUnavailable("scripted failure")
        return self.forced if has_sources else self.bare

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None
