"""The one async client that talks to a vLLM OpenAI-compatible server.

Everything else in ragtrust depends on the small ``LLMClient`` protocol, so a GPU vLLM
endpoint, replicas behind a load balancer, or a scripted fake in a unit test plug in alike.
The openai client's own retries are off: a down server must surface as a clear 503 within
the timeout, not after minutes of silent back-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import openai
from openai import AsyncOpenAI

from rag.errors import LLMError, LLMTimeout, LLMUnavailable

Message = dict[str, str]


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    model: str
    token_logprobs: list[float] = field(default_factory=list)


class LLMClient(Protocol):
    model: str
    supports_logprobs: bool

    async def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        logprobs: bool = False,
        cache_salt: str | None = None,
    ) -> Completion: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


class OpenAICompatibleClient:
    """vLLM's OpenAI API through the official ``openai`` client."""

    supports_logprobs = True

    def __init__(self, base_url: str, model: str, *, api_key: str = "EMPTY", timeout_s: float = 60):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self._client = AsyncOpenAI(
            base_url=self.base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )

    async def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        logprobs: bool = False,
        cache_salt: str | None = None,
    ) -> Completion:
        extra: dict[str, Any] = {"cache_salt": cache_salt} if cache_salt else {}
        try:
            resp = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                logprobs=logprobs or None,
                extra_body=extra or None,
            )
        except openai.APITimeoutError as exc:
            raise LLMTimeout(
                f"the LLM server did not answer within {self.timeout_s:g} s; "
                "retry, or raise RAGTRUST_LLM_TIMEOUT_S"
            ) from exc
        except openai.APIConnectionError as exc:
            raise LLMUnavailable(
                f"the LLM server at {self.base_url} is not reachable; "
                "is it running? (`ragtrust llm serve`)"
            ) from exc
        except openai.APIStatusError as exc:
            raise LLMError(f"the LLM server refused the request (HTTP {exc.status_code})") from exc
        choice = resp.choices[0]
        lps = [t.logprob for t in (choice.logprobs.content or [])] if choice.logprobs else []
        usage = resp.usage
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason=choice.finish_reason,
            model=resp.model,
            token_logprobs=lps,
        )

    async def ready(self) -> bool:
        """True when the server answers its model list, which vLLM serves once weights load."""
        try:
            models = await self._client.models.list()
        except (openai.APIError, httpx.HTTPError):
            return False
        return any(m.id == self.model for m in models.data)

    async def aclose(self) -> None:
        await self._client.close()
