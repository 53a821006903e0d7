"""The answer flow: tenant check -> retrieval inside the boundary -> privacy -> generation
-> restore -> citations.

Routes call this; this calls the packages. Blocking work (embedding, FAISS, Presidio) runs in
a worker thread so one slow request never stalls the event loop serving other requests.
Only pseudonymized text crosses the boundary to the LLM; the vault that reverses it lives in
this call's frame and nowhere else.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from functools import partial

from privacy.analyzer import PiiAnalyzer
from privacy.policy import PiiBlockedError, PolicyOverrides, PrivacyGuard, PrivacyPolicy, Protected
from privacy.vault import Vault
from rag.citations import cited_indices
from rag.errors import InvalidRequest, PiiBlocked
from rag.llm_client import LLMClient
from rag.prompts import NO_ANSWER, Source, answer_messages
from rag.protocol import (
    AnswerRequest,
    AnswerResponse,
    Citation,
    PrivacySummary,
    ScoreRequest,
    ScoreResponse,
    Usage,
)
from rag.settings import Settings
from rag.tenants import TenantRegistry
from retrieval.retriever import Retriever
from retrieval.types import Filters, Hit
from trust.scorer import TrustResult, TrustScorer

SNIPPET_CHARS = 240


@dataclass
class _Timer:
    marks: dict[str, float] = field(default_factory=dict)
    _t0: float = field(default_factory=time.perf_counter)

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.marks[stage] = round((now - self._t0) * 1000, 2)
        self._t0 = now

    def done(self) -> dict[str, float]:
        return {**self.marks, "total": round(sum(self.marks.values()), 2)}


class AnswerPipeline:
    def __init__(
        self,
        settings: Settings,
        tenants: TenantRegistry,
        retriever: Retriever,
        llm: LLMClient,
        privacy: PrivacyGuard | None = None,
        trust: TrustScorer | None = None,
    ) -> None:
        self.settings = settings
        self.tenants = tenants
        self.retriever = retriever
        self.llm = llm
        self.trust = trust or TrustScorer.from_settings(settings, llm, retriever.embedder)
        if privacy is None and settings.privacy_enabled:
            privacy = PrivacyGuard(PiiAnalyzer())  # spaCy loads once, here, at startup
        self.privacy = privacy

    def privacy_policy(self, tenant: str) -> PrivacyPolicy:
        s = self.settings
        base = PrivacyPolicy(
            entities=tuple(s.privacy_entities),
            default_threshold=s.privacy_score_threshold,
            thresholds=s.privacy_thresholds,
            actions=s.privacy_actions,
        )
        overrides = self.tenants.privacy_overrides(tenant)
        return base.merged(PolicyOverrides.model_validate(overrides) if overrides else None)

    async def _protect(self, tenant: str, question: str, texts: list[str]) -> Protected:
        if self.privacy is None:
            return Protected(question, texts, Vault(), {})
        policy = await asyncio.to_thread(self.privacy_policy, tenant)
        try:
            return await asyncio.to_thread(self.privacy.protect, question, texts, policy)
        except PiiBlockedError as exc:
            raise PiiBlocked(
                f"the question contains {', '.join(exc.types)}, which this tenant does not "
                "accept; remove it and ask again"
            ) from None

    async def answer(self, tenant: str, req: AnswerRequest, *, request_id: str) -> AnswerResponse:
        question = req.question.strip()
        if not question:
            raise InvalidRequest("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise InvalidRequest(
                f"the question is longer than {self.settings.max_question_chars} characters"
            )
        timer = _Timer()
        await asyncio.to_thread(self.tenants.require, tenant)
        k = req.top_k or self.settings.top_k
        filters = (
            Filters(frozenset(req.filters.document_ids), frozenset(req.filters.sources))
            if req.filters
            else None
        )
        hits = await asyncio.to_thread(
            partial(self.retriever.search, mode=req.mode or self.settings.retrieval_mode,
                    filters=filters),  # fmt: skip
            tenant, question, k,
        )  # fmt: skip
        timer.lap("retrieval")
        # Titles go to the model too, so they are protected with the chunk texts.
        safe = await self._protect(
            tenant, question, [h.chunk.title for h in hits] + [h.chunk.text for h in hits]
        )
        safe_titles, safe_texts = safe.chunks[: len(hits)], safe.chunks[len(hits) :]
        timer.lap("privacy")

        trust: TrustResult | None = None
        if not hits:
            text, usage = NO_ANSWER, Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
            timer.lap("generation")
        else:
            sources = [Source(t, c) for t, c in zip(safe_titles, safe_texts, strict=True)]
            messages = answer_messages(safe.question, sources)
            preset, salt = req.trust_preset or self.settings.trust_preset, cache_salt(tenant)
            # The samples share the answer's prompt prefix and run beside it in one batch.
            completion, samples = await asyncio.gather(
                self.llm.chat(messages, max_tokens=self.settings.max_answer_tokens,
                              temperature=0.0, logprobs=self.llm.supports_logprobs,
                              cache_salt=salt),
                self.trust.draw_samples(messages, preset, cache_salt=salt),
            )  # fmt: skip
            timer.lap("generation")
            # Scored on what the LLM saw (placeholders), restored for the user afterwards.
            trust = await self.trust.score(
                safe.question, completion.text, sources, preset=preset,
                threshold=self.settings.trust_threshold,
                answer_logprobs=completion.token_logprobs or None, samples=samples,
                cache_salt=salt,
            )  # fmt: skip
            text = safe.vault.restore(completion.text).strip()
            trust = restore_unsupported(trust, text, safe.vault)
            usage = Usage(
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                total_tokens=completion.prompt_tokens + completion.completion_tokens,
                trust_tokens=trust.usage.prompt_tokens + trust.usage.completion_tokens,
            )
        timer.lap("trust")

        cited = set(cited_indices(text, len(hits)))
        citations = [_citation(i, h, cited=i in cited) for i, h in enumerate(hits, 1)]
        return AnswerResponse(
            request_id=request_id,
            answer=text,
            citations=citations,
            model=self.llm.model,
            usage=usage,
            timings_ms=timer.done(),
            privacy=PrivacySummary(entities=safe.entities),
            trust=trust,
        )

    async def score(self, tenant: str, req: ScoreRequest, *, request_id: str) -> ScoreResponse:
        """Trust for an answer produced elsewhere (like TLM's get_trustworthiness_score): the
        given context, or the tenant's retrieval for the question."""
        question, answer = req.question.strip(), req.answer.strip()
        if not question or not answer:
            raise InvalidRequest("the question and the answer must not be blank")
        timer = _Timer()
        await asyncio.to_thread(self.tenants.require, tenant)
        citations: list[Citation] = []
        if req.context is not None:
            titles, texts = [""] * len(req.context), list(req.context)
        else:
            k = req.top_k or self.settings.top_k
            hits = await asyncio.to_thread(self.retriever.search, tenant, question, k)
            titles, texts = [h.chunk.title for h in hits], [h.chunk.text for h in hits]
            citations = [_citation(i, h, cited=False) for i, h in enumerate(hits, 1)]
        timer.lap("retrieval")
        safe = await self._protect(tenant, question, [answer, *titles, *texts])
        safe_answer, rest = safe.chunks[0], safe.chunks[1:]
        sources = [Source(t, c) for t, c in zip(rest[: len(titles)], rest[len(titles) :],
                                                 strict=True)]  # fmt: skip
        timer.lap("privacy")
        trust = await self.trust.score(
            safe.question, safe_answer, sources,
            preset=req.trust_preset or self.settings.trust_preset,
            threshold=self.settings.trust_threshold, cache_salt=cache_salt(tenant),
        )  # fmt: skip
        timer.lap("trust")
        return ScoreResponse(
            request_id=request_id,
            trust=restore_unsupported(trust, answer, safe.vault),
            citations=citations,
            privacy=PrivacySummary(entities=safe.entities),
            timings_ms=timer.done(),
        )


def _citation(source: int, hit: Hit, *, cited: bool) -> Citation:
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


def cache_salt(tenant: str) -> str:
    """A per-tenant salt so vLLM's prefix cache never shares entries across tenants."""
    return hashlib.sha256(f"ragtrust-tenant:{tenant}".encode()).hexdigest()[:32]
