"""Request and response models of ragtrust's HTTP API, in one place.

Requests forbid unknown fields: a typo in a field name should be an error the caller sees,
not a silently ignored option.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.core.types import RetrievalMode
from trust.presets import PresetName as TrustPreset
from trust.scorer import TrustResult

AnswerMode = Literal["extractive", "generative", "auto"]
"""extractive: the answer quotes the sources' own units; generative: the LLM writes it;
auto: extractive on the embedded 135M model, generative on an external LLM endpoint."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchFilters(_Request):
    document_ids: list[str] = Field(default_factory=list, description="Only these documents.")
    sources: list[str] = Field(default_factory=list, description="Only documents from these.")


class AnswerOptions(_Request):
    """How to answer: the options of ``/v1/answer``, and of the chat endpoint's ``ragtrust``
    object."""

    top_k: int | None = Field(None, ge=1, le=50, description="Chunks to retrieve.")
    mode: RetrievalMode | None = Field(
        None, description="Retrieval mode (default: the service's, hybrid)."
    )
    filters: SearchFilters | None = None
    trust_preset: TrustPreset | None = Field(
        None,
        description="Which trust signals to pay for (default: the tenant's, then the "
        "service's RAGTRUST_TRUST_PRESET).",
    )
    answer_mode: AnswerMode | None = Field(
        None,
        description="extractive (quote the sources), generative (the LLM writes the answer) "
        "or auto (default: the tenant's, then the service's RAGTRUST_ANSWER_MODE).",
    )


class AnswerRequest(AnswerOptions):
    question: str = Field(..., min_length=1, description="The user's question.")
    stream: bool = Field(
        False,
        description="Server-sent events: `delta` events with the answer's text as it is "
        "generated, then one `answer` event with the whole response (or an `error` event).",
    )


class Citation(BaseModel):
    source: int = Field(..., description="The [n] number the answer uses for this chunk.")
    document_id: str
    title: str
    chunk_id: str
    score: float = Field(..., description="Retrieval score (cosine similarity).")
    snippet: str
    cited: bool = Field(..., description="Whether the answer cites this source as [n].")


class Quote(BaseModel):
    """The span of a source that supports one sentence (or unit) of the answer."""

    answer_start: int = Field(description="Character offsets of the supported part of the answer.")
    answer_end: int
    source: int = Field(description="The [n] of the chunk quoted.")
    document_id: str
    chunk_id: str
    start: int = Field(description="Character offsets of the quote in the chunk's text.")
    end: int
    text: str = Field(description="The quoted text, verbatim from the chunk.")
    support: float = Field(description="Share of the answer part's claims the quote holds.")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    trust_tokens: int = Field(0, description="Tokens the trust signals cost (samples etc.).")


class Cost(BaseModel):
    currency: str
    basis: Literal["tokens", "gpu_seconds"] = Field(
        description="Priced per token (RAGTRUST_PRICE_PER_1K_*) or per GPU-second."
    )
    answer: float = Field(description="The answer's generation.")
    trust: float = Field(description="The trust signals' extra LLM work (samples, grading).")
    total: float


class PrivacySummary(BaseModel):
    entities: dict[str, int] = Field(
        default_factory=dict,
        description="Distinct PII values per entity type kept from the LLM (question and "
        'context), e.g. {"PERSON": 2}.',
    )


class AnswerResponse(BaseModel):
    request_id: str
    answer: str
    citations: list[Citation]
    model: str
    usage: Usage
    timings_ms: dict[str, float]
    cost: Cost
    privacy: PrivacySummary = Field(default_factory=PrivacySummary)
    trust: TrustResult | None = Field(None, description="None when no answer was generated.")
    answer_mode: Literal["extractive", "generative"] = Field(
        "generative", description="Which mode produced the answer."
    )
    quotes: list[Quote] = Field(
        default_factory=list,
        description="Each answer sentence's best supporting span of the sources (a sentence "
        "without one is in trust.unsupported).",
    )


class ScoreRequest(_Request):
    question: str = Field(..., min_length=1)
    answer: str = Field(
        ...,
        min_length=1,
        description="An answer produced elsewhere (at most RAGTRUST_MAX_SCORED_ANSWER_CHARS).",
    )
    context: list[str] | None = Field(
        None,
        max_length=50,
        description="The context to check it against; default: the tenant's retrieval. "
        "Lengths are limited: RAGTRUST_MAX_CONTEXT_ITEM_CHARS per item, "
        "RAGTRUST_MAX_CONTEXT_CHARS in all.",
    )
    top_k: int | None = Field(None, ge=1, le=50)
    trust_preset: TrustPreset | None = None


class ScoreResponse(BaseModel):
    request_id: str
    trust: TrustResult
    citations: list[Citation] = Field(
        default_factory=list, description="The retrieved context, when none was given."
    )
    privacy: PrivacySummary = Field(default_factory=PrivacySummary)
    timings_ms: dict[str, float]


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
    llm_endpoints: dict[str, str] = Field(
        default_factory=dict,
        description="Each LLM endpoint (llm-0, llm-1, ... in RAGTRUST_LLM_BASE_URL's order): "
        "ok or down. `checks.llm` is ok while any one is.",
    )


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in {
        400: "Invalid request",
        401: "Missing, unknown or revoked API key",
        403: "The key's role may not do this",
        404: "Not found (document, model)",
        409: "A document upload would take the tenant over a quota (code quota_exceeded)",
        413: "Request body too large",
        422: "Validation error, or PII of a type the tenant blocks (code pii_blocked)",
        429: "Rate limit of the key exceeded (see Retry-After)",
        500: "Internal error",
        503: "LLM or database unavailable, or the LLM timed out (see Retry-After)",
    }.items()
}

SSE_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "JSON, or with `stream: true` server-sent events.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


# --- documents ----------------------------------------------------------------------------


class DocumentIn(_Request):
    id: str = Field(..., min_length=1, max_length=512, description="Re-using an id replaces.")
    text: str = Field(..., description="The document's text (plain text or Markdown).")
    title: str = ""
    source: str = Field("", description="Where it came from; searchable as a filter.")


class DocumentsRequest(_Request):
    documents: list[DocumentIn] = Field(..., min_length=1, max_length=10_000)


class DocumentResult(BaseModel):
    id: str
    status: Literal["indexed", "failed"]
    chunks: int = 0
    error: str | None = Field(None, description="Why the document was not indexed.")


class DocumentsResponse(BaseModel):
    indexed: int
    failed: int
    chunks: int
    documents: list[DocumentResult]


class DocumentInfo(BaseModel):
    id: str
    title: str
    source: str
    chunks: int


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class DeletedDocument(BaseModel):
    id: str
    deleted_chunks: int
