"""The OpenAI-compatible chat surface: ``/v1/chat/completions`` and ``/v1/models``.

Chat UIs and the ``openai`` client send OpenAI's request shape and read OpenAI's response and
chunk shapes; everything RAG adds (citations, trust, privacy, cost) rides in a ``ragtrust``
object of the response and of the last streamed chunk, which OpenAI clients keep as an extra
field. Unknown request fields are ignored, as OpenAI-compatible servers do, because UIs send
sampling options this service decides itself: answers are greedy so the trust calibration
holds, whatever ``temperature`` asks.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.api.errors import error_payload
from rag.api.streaming import StreamHooks, guarded, sse
from rag.core.errors import InvalidRequest, NotFound, RagtrustError
from rag.exchange import Outcome
from rag.llm.client import Message
from rag.protocol import (
    AnswerOptions,
    AnswerRequest,
    AnswerResponse,
    Citation,
    Cost,
    PrivacySummary,
    Quote,
    Usage,
)
from trust.scorer import TrustResult

MODEL_ID = "ragtrust"
MAX_TURNS = 6  # earlier messages kept as context for a follow-up question


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class RagOptions(AnswerOptions):
    """ragtrust's own request options, in a ``ragtrust`` object (``extra_body`` in openai)."""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(..., description=f"`{MODEL_ID}` (see GET /v1/models).")
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, description="Only 1 is supported.")
    ragtrust: RagOptions | None = None


class RagExtension(BaseModel):
    """The RAG extras of a chat completion."""

    request_id: str
    citations: list[Citation]
    answer_mode: Literal["extractive", "generative"]
    quotes: list[Quote]
    trust: TrustResult | None
    privacy: PrivacySummary
    cost: Cost
    usage: Usage
    timings_ms: dict[str, float]


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: str | None


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage
    ragtrust: RagExtension


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "ragtrust"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


STARTED = int(time.time())


def models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_ID, created=STARTED)])


def to_answer_request(req: ChatCompletionRequest) -> tuple[AnswerRequest, list[Message]]:
    """The last user message is the question; earlier user/assistant turns are history.
    Client system prompts are not forwarded: the service's own instructions keep answers
    grounded and cited, which the trust score is calibrated for."""
    if req.model != MODEL_ID:
        raise NotFound(f"that model does not exist; use {MODEL_ID!r} (GET /v1/models)")
    if req.n != 1:
        raise InvalidRequest("n must be 1")
    last = req.messages[-1]
    if last.role != "user" or not last.text().strip():
        raise InvalidRequest("the last message must be a non-empty user message")
    turns = [m for m in req.messages[:-1] if m.role in ("user", "assistant") and m.text()]
    history: list[Message] = [{"role": m.role, "content": m.text()} for m in turns[-MAX_TURNS:]]
    opts = req.ragtrust or RagOptions()
    answer = AnswerRequest(question=last.text(), **opts.model_dump(exclude_none=True))
    return answer, history


def _extension(r: AnswerResponse) -> RagExtension:
    return RagExtension(
        request_id=r.request_id,
        citations=r.citations,
        answer_mode=r.answer_mode,
        quotes=r.quotes,
        trust=r.trust,
        privacy=r.privacy,
        cost=r.cost,
        usage=r.usage,
        timings_ms=r.timings_ms,
    )


def completion(outcome: Outcome) -> ChatCompletion:
    r = outcome.response
    message = ChatChoiceMessage(content=r.answer)
    return ChatCompletion(
        id=f"chatcmpl-{r.request_id}",
        created=int(time.time()),
        model=MODEL_ID,
        choices=[ChatChoice(message=message, finish_reason=outcome.finish_reason)],
        usage=ChatUsage(
            prompt_tokens=r.usage.prompt_tokens,
            completion_tokens=r.usage.completion_tokens,
            total_tokens=r.usage.total_tokens,
        ),
        ragtrust=_extension(r),
    )


async def chunks(
    parts: AsyncGenerator[str | Outcome, None],
    request_id: str,
    hooks: StreamHooks,
    *,
    include_usage: bool,
) -> AsyncGenerator[bytes, None]:
    """OpenAI's chunk stream: the role, content deltas, a last chunk with ``finish_reason``
    and the ``ragtrust`` extension, the usage chunk if asked for, then ``[DONE]``. A failure
    after the stream started becomes an ``error`` event (the HTTP status is already sent)."""
    head = {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL_ID,
    }

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse({**head, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    async with aclosing(guarded(parts, request_id, hooks)) as items:
        async for part in items:
            if isinstance(part, str):
                yield chunk({"content": part})
            elif isinstance(part, RagtrustError):
                yield sse(error_payload(part))
            else:
                r = part.response
                extension = _extension(r).model_dump(mode="json")
                yield chunk({}, part.finish_reason, ragtrust=extension)
                if include_usage:
                    usage = ChatUsage(**r.usage.model_dump(exclude={"trust_tokens"}))
                    yield sse({**head, "choices": [], "usage": usage.model_dump()})
    yield b"data: [DONE]\n\n"
