"""The one async client that talks to a vLLM OpenAI-compatible server.

Everything else in ragtrust depends on the small ``LLMClient`` protocol, so a GPU vLLM
endpoint, replicas behind a load balancer, or a scripted fake in a unit test plug in alike.
The openai client's own retries are off: a down server must surface as a clear 503 within
the timeout, not after minutes of silent back-off.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx
import openai
from openai import AsyncOpenAI

from rag.core.errors import ContextTooLong, LLMError, LLMServerError, LLMTimeout, LLMUnavailable

log = logging.getLogger("ragtrust.llm")

Message = dict[str, str]
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    model: str
    token_logprobs: list[float] = field(default_factory=list)
    # Per generated token, its most likely alternatives (token text -> logprob); filled only
    # when ``top_logprobs`` is asked for (trust reads a grade token's P(yes) from it).
    top_logprobs: list[dict[str, float]] = field(default_factory=list)


@dataclass
class SampleCap:
    """A length cap for samples that becomes known while they run.

    Samples drawn beside an answer are read only against that answer, so once it is finished
    they need not outrun it: each stops when it has as many tokens as the answer (``floor`` at
    least, so a one-word answer still gets samples that can say something else). Until the
    answer ends, the samples run to their own ``max_tokens``. On a CPU server a short answer
    otherwise waited for five 32-token samples.
    """

    floor: int = 8
    tokens: int | None = None

    def answer_done(self, answer_tokens: int) -> None:
        self.tokens = max(answer_tokens, self.floor)

    def reached(self, counts: Sequence[int], finished: Sequence[bool]) -> bool:
        return self.tokens is not None and all(
            done or n >= self.tokens for n, done in zip(counts, finished, strict=True)
        )


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

    def chat_stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        logprobs: bool = False,
        cache_salt: str | None = None,
    ) -> AsyncIterator[str | Completion]:
        """Greedy text deltas as they are generated, then the whole ``Completion``."""
        ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class SamplingLLMClient(Protocol):
    """What trust needs: ``chat``, several samples in one request, and the logprobs of a
    given text under the model (to score an answer produced elsewhere). A backend without them
    simply is not one of these, and trust leaves the signals that need them out. (Streaming
    is not asked for: trust never streams.)"""

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
        top_logprobs: int = 0,
    ) -> Completion: ...

    async def sample(
        self,
        messages: list[Message],
        *,
        n: int,
        max_tokens: int,
        temperature: float = 0.8,
        cache_salt: str | None = None,
        cap: SampleCap | None = None,
    ) -> list[Completion]: ...

    async def continuation_logprobs(
        self, messages: list[Message], continuation: str, *, cache_salt: str | None = None
    ) -> list[float]: ...


class OpenAICompatibleClient:
    """vLLM's OpenAI API through the official ``openai`` client."""

    supports_logprobs = True

    def __init__(self, base_url: str, model: str, *, api_key: str = "EMPTY", timeout_s: float = 60):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        # A server that cannot be connected to within seconds is down, not slow: that error
        # is a connection failure (which another endpoint may answer), not a timeout.
        timeout = openai.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
        self._client = AsyncOpenAI(
            base_url=self.base_url, api_key=api_key, timeout=timeout, max_retries=0
        )

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
        resp = await self._create(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            logprobs=bool(logprobs or top_logprobs) or None,
            top_logprobs=top_logprobs or None,
            extra_body={"cache_salt": cache_salt} if cache_salt else None,
        )
        return self._completions(resp)[0]

    async def chat_stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        logprobs: bool = False,
        cache_salt: str | None = None,
    ) -> AsyncGenerator[str | Completion, None]:
        stream = await self._create(
            messages,
            max_tokens=max_tokens,
            temperature=0.0,
            logprobs=logprobs or None,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"cache_salt": cache_salt} if cache_salt else None,
        )
        parts: list[str] = []
        lps: list[float] = []
        finish, usage = None, None
        async with self._translated(), stream:
            async for chunk in stream:
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    finish = choice.finish_reason or finish
                    if choice.logprobs and choice.logprobs.content:
                        lps += [t.logprob for t in choice.logprobs.content]
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield choice.delta.content
        yield Completion(
            text="".join(parts),
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else len(lps),
            finish_reason=finish,
            model=self.model,
            token_logprobs=lps,
        )

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
        """``n`` stochastic answers in one request: vLLM prefills the prompt once for all of
        them (and reuses the main answer's prefix-cache entry when the messages are the same).
        Streamed, so that ``cap`` can end them early: closing the stream aborts the request."""
        stream = await self._create(
            messages,
            n=n,
            max_tokens=max_tokens,
            temperature=temperature,
            logprobs=True,
            stream=True,
            stream_options={"include_usage": True, "continuous_usage_stats": True},
            extra_body={"cache_salt": cache_salt} if cache_salt else None,
        )
        texts: list[list[str]] = [[] for _ in range(n)]
        lps: list[list[float]] = [[] for _ in range(n)]
        finish: list[str | None] = [None] * n
        prompt_tokens = 0
        async with self._translated(), stream:
            async for chunk in stream:
                if chunk.usage:
                    prompt_tokens = chunk.usage.prompt_tokens
                for choice in chunk.choices:
                    i = choice.index
                    finish[i] = choice.finish_reason or finish[i]
                    if choice.logprobs and choice.logprobs.content:
                        lps[i] += [t.logprob for t in choice.logprobs.content]
                    if choice.delta.content:
                        texts[i].append(choice.delta.content)
                if cap and cap.reached([len(x) for x in lps], [f is not None for f in finish]):
                    break
        return [
            Completion(
                text="".join(texts[i]),
                prompt_tokens=prompt_tokens,
                completion_tokens=len(lps[i]),
                finish_reason=finish[i] or "length",  # cut by the cap
                model=self.model,
                token_logprobs=lps[i],
            )
            for i in range(n)
        ]

    async def continuation_logprobs(
        self, messages: list[Message], continuation: str, *, cache_salt: str | None = None
    ) -> list[float]:
        """Logprob of each token of ``continuation`` as the assistant's reply to ``messages``.

        One prefill-only request (vLLM's ``prompt_logprobs`` with ``continue_final_message``),
        so an answer written elsewhere gets the token confidence a generated one has. The
        reply's tokens are the prompt's last ones; they are found by walking back until their
        text covers the continuation, which needs no tokenizer on this side.
        """
        text = continuation.strip()
        if not text:
            return []
        extra: dict[str, Any] = {
            "prompt_logprobs": 0,
            "add_generation_prompt": False,
            "continue_final_message": True,
        }
        if cache_salt:
            extra["cache_salt"] = cache_salt
        resp = await self._create(
            [*messages, {"role": "assistant", "content": text}],
            max_tokens=1,
            temperature=0.0,
            extra_body=extra,
        )
        prompt_lps = (resp.model_extra or {}).get("prompt_logprobs") or []
        out: list[float] = []
        covered = ""
        for entry in reversed(prompt_lps):
            if not entry or len(covered.strip()) >= len(text):
                break
            # With prompt_logprobs=0 each position holds exactly the prompt's own token.
            token = next(iter(entry.values()))
            out.append(float(token["logprob"]))
            covered = str(token.get("decoded_token") or "") + covered
        return out[::-1]

    async def _create(self, messages: list[Message], **kwargs: Any) -> Any:
        async with self._translated():
            return await self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                **kwargs,
            )

    @asynccontextmanager
    async def _translated(self) -> AsyncIterator[None]:
        """openai's errors as ours, also when they surface mid-stream."""
        try:
            yield
        except openai.APITimeoutError as exc:
            if _never_connected(exc):
                log.warning("the LLM server at %s did not accept a connection", self.base_url)
                raise LLMUnavailable("the LLM server is not reachable") from exc
            raise LLMTimeout(
                f"the LLM server did not answer within {self.timeout_s:g} s; "
                "retry, or raise RAGTRUST_LLM_TIMEOUT_S"
            ) from exc
        except openai.APIConnectionError as exc:
            # The server's address is internal: the operator's log has it, callers do not.
            log.warning("the LLM server at %s is not reachable: %s", self.base_url, exc)
            raise LLMUnavailable(
                "the LLM server is not reachable; is it running? (`ragtrust llm serve`)"
            ) from exc
        except openai.BadRequestError as exc:
            # What vLLM says of a prompt longer than its window (the pipeline trims to fit;
            # this is the safety net, e.g. for a server with a smaller window than configured).
            raise ContextTooLong(
                "the question and its context are more than the model can read; shorten the "
                "question, lower top_k, or send fewer earlier messages"
            ) from exc
        except openai.InternalServerError as exc:
            log.warning("the LLM server at %s failed: HTTP %s", self.base_url, exc.status_code)
            raise LLMServerError(f"the LLM server failed (HTTP {exc.status_code})") from exc
        except openai.APIStatusError as exc:
            raise LLMError(f"the LLM server refused the request (HTTP {exc.status_code})") from exc
        except (openai.APIError, httpx.HTTPError) as exc:  # e.g. the server died mid-stream
            log.warning("the LLM server at %s broke off the answer: %s", self.base_url, exc)
            raise LLMUnavailable("the LLM server broke off the answer") from exc

    @staticmethod
    def _completions(resp: Any) -> list[Completion]:
        usage = resp.usage
        out = []
        for choice in resp.choices:
            content = (choice.logprobs.content or []) if choice.logprobs else []
            lps = [t.logprob for t in content]
            tops = [{a.token: a.logprob for a in (t.top_logprobs or [])} for t in content]
            out.append(
                Completion(
                    text=choice.message.content or "",
                    prompt_tokens=usage.prompt_tokens if usage else 0,
                    completion_tokens=usage.completion_tokens if usage else len(lps),
                    finish_reason=choice.finish_reason,
                    model=resp.model,
                    token_logprobs=lps,
                    top_logprobs=tops if any(tops) else [],
                )
            )
        return out

    async def ready(self) -> bool:
        """True when the server answers its model list, which vLLM serves once weights load."""
        try:
            models = await self._client.models.list()
        except (openai.APIError, httpx.HTTPError):
            return False
        return any(m.id == self.model for m in models.data)

    async def aclose(self) -> None:
        await self._client.close()


def _never_connected(exc: BaseException) -> bool:
    """A connect timeout: the request never reached the server. Named, not imported, since
    the openai client runs on httpx or httpx2 depending on its version."""
    return type(exc.__cause__).__name__ == "ConnectTimeout"
