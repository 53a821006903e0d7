"""What one exchange carries through the answer pipeline's stages (``Prepared`` before the
LLM, ``Outcome`` after it, the stage timings), and the small steps on it that need no
pipeline: fitting the prompt into the window, citations, restoring what the trust score
names, the per-tenant cache salt, and quotes as the audit log may keep them."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from privacy.policy import Protected
from privacy.vault import Vault
from rag.core.secrets import configured_or_file
from rag.core.settings import Settings
from rag.llm.client import Message
from rag.llm.prompts import Source
from rag.protocol import AnswerResponse, Citation, Quote
from retrieval.types import Hit
from trust.presets import PresetName
from trust.scorer import TrustResult

SNIPPET_CHARS = 240
CACHE_SALT_KEY_FILE = "llm-cache-salt.key"


@dataclass
class StageTimer:
    marks: dict[str, float] = field(default_factory=dict)
    _t0: float = field(default_factory=time.perf_counter)

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.marks[stage] = round((now - self._t0) * 1000, 2)
        self._t0 = now

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def done(self) -> dict[str, float]:
        return {**self.marks, "total": round(sum(self.marks.values()), 2)}


@dataclass
class Prepared:
    """A request retrieved and protected, ready for the LLM (``messages``, the generative
    prompt, is empty when nothing was retrieved — the answer is then NO_ANSWER without an LLM
    call — and in extractive mode, which prompts the LLM for samples only)."""

    request_id: str
    tenant: str
    hits: list[Hit]
    safe: Protected
    messages: list[Message]
    sources: list[Source]
    preset: PresetName
    threshold: float
    salt: str
    timer: StageTimer
    answer_mode: Literal["extractive", "generative"] = "generative"
    question: str = ""
    """The raw question: for choosing units and quotes inside the boundary, never the LLM."""


@dataclass(frozen=True)
class Outcome:
    """The response, and what the audit log keeps of the exchange (placeholders only)."""

    response: AnswerResponse
    redacted_question: str
    redacted_answer: str
    finish_reason: str | None = "stop"
    redacted_quotes: tuple[Quote, ...] = ()
    """The response's quotes with their text masked like the answer."""


def fit_context(
    question: str, hits: list[Hit], history: Sequence[Message], budget_chars: int
) -> tuple[list[Hit], list[Message]]:
    """Keep the prompt inside the model's window: the oldest chat turns go first, then the
    lowest-ranked chunks (the best one always stays). A caller asking for top_k 50 or with a
    long conversation gets an answer from what fits, not an error from the LLM server."""
    turns = list(history)
    size = len(question) + sum(len(h.chunk.title) + len(h.chunk.text) for h in hits)
    size += sum(len(m["content"]) for m in turns)
    while turns and size > budget_chars:
        size -= len(turns.pop(0)["content"])
    kept = list(hits)
    while len(kept) > 1 and size > budget_chars:
        dropped = kept.pop()
        size -= len(dropped.chunk.title) + len(dropped.chunk.text)
    return kept, turns


def citation(source: int, hit: Hit, *, cited: bool) -> Citation:
    c = hit.chunk
    return Citation(
        source=source,
        document_id=c.doc_id,
        title=c.title,
        chunk_id=c.chunk_id,
        score=round(hit.score, 4),
        snippet=c.text[:SNIPPET_CHARS],
        cited=cited,
    )


def restore_unsupported(trust: TrustResult, answer: str, vault: Vault) -> TrustResult:
    """Unsupported sentences were found in the pseudonymized answer: name them, and their
    offsets, in the answer the user sees."""
    fixed, at = [], 0
    for s in trust.unsupported:
        text = vault.restore(s.text)
        start = answer.find(text, at)
        start = start if start >= 0 else s.start
        fixed.append(s.model_copy(update={"text": text, "start": start, "end": start + len(text)}))
        at = start + len(text)
    return trust.model_copy(update={"unsupported": fixed})


def cache_salt_key(settings: Settings) -> bytes:
    return configured_or_file(settings.llm_cache_salt_key, settings.data_dir / CACHE_SALT_KEY_FILE)


def cache_salt(key: bytes, tenant: str) -> str:
    """A per-tenant salt so vLLM's prefix cache never shares entries across tenants.

    Keyed: with a salt anyone could compute from the tenant's name, whoever reaches the LLM
    server could send it and time cache hits to probe another tenant's prompts."""
    return hmac.new(key, f"ragtrust-cache-salt:{tenant}".encode(), hashlib.sha256).hexdigest()[:32]


def masked_quotes(quotes: Sequence[Quote], safe: Protected) -> tuple[Quote, ...]:
    """Quotes as the audit log may keep them: their text with the placeholders the LLM saw."""
    return tuple(q.model_copy(update={"text": safe.mask(q.text)}) for q in quotes)
