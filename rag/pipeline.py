"""The answer flow: tenant check -> retrieval inside the boundary -> privacy -> generation
-> restore -> citations.

Routes call this; this calls the packages. Blocking work (embedding, FAISS, Presidio) runs in
a worker thread so one slow request never stalls the event loop serving other requests.
Only pseudonymized text crosses the boundary to the LLM; the vault that reverses it lives in
this call's frame and nowhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from functools import partial
from typing import Literal

from privacy.analyzer import PiiAnalyzer
from privacy.policy import PiiBlockedError, PrivacyGuard, PrivacyPolicy, Protected
from privacy.stream import StreamRestorer
from privacy.vault import Vault
from rag.bounds import checked_question, checked_scored_texts
from rag.citations import cited_indices
from rag.core.errors import PiiBlocked
from rag.core.settings import Settings
from rag.core.types import RetrievalMode
from rag.cost import Prices, Spend, price
from rag.exchange import (
    Outcome,
    Prepared,
    StageTimer,
    cache_salt,
    cache_salt_key,
    citation,
    fit_context,
    masked_quotes,
    restore_unsupported,
)
from rag.fair_share import FairShare
from rag.llm.client import Completion, LLMClient, Message, SampleCap
from rag.llm.prompts import NO_ANSWER, Source, answer_messages
from rag.protocol import (
    AnswerMode,
    AnswerRequest,
    AnswerResponse,
    Citation,
    Cost,
    PrivacySummary,
    Quote,
    ScoreRequest,
    ScoreResponse,
    Usage,
)
from rag.quoting import Chosen, QuoteAnswerer, generative_quotes
from rag.tenants import TenantRegistry, TenantSettings
from retrieval.retriever import Retriever
from retrieval.types import Filters, Hit
from trust.presets import PresetName
from trust.scorer import TrustResult, TrustScorer


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
        self._salt_key = cache_salt_key(settings)
        self.share = FairShare(settings.work_slot_count)
        self.trust = trust or TrustScorer.from_settings(settings, llm, retriever.embedder)
        self.quotes = QuoteAnswerer.from_settings(settings, llm, retriever.embedder)
        if privacy is None and settings.privacy_enabled:
            privacy = PrivacyGuard(PiiAnalyzer())  # spaCy loads once, here, at startup
        self.privacy = privacy
        # What the prompt may hold, in characters: the model's window less the answer and
        # the instructions, at a conservative ~3 characters per token.
        self._context_chars = 3 * (settings.llm_max_model_len - settings.max_answer_tokens - 300)
        self.prices = Prices(
            settings.cost_currency,
            settings.price_per_1k_prompt_tokens,
            settings.price_per_1k_completion_tokens,
            settings.price_per_gpu_second,
        )

    def privacy_policy(self, tenant: str) -> PrivacyPolicy:
        return PrivacyPolicy.for_tenant(self.settings, self.tenants.privacy_overrides(tenant))

    async def _protect(
        self, tenant: str, question: str, *groups: Sequence[str]
    ) -> tuple[Protected, list[list[str]]]:
        """The question and every group of texts protected with one vault (the same value
        gets the same placeholder everywhere); each group comes back as it went in."""
        texts = [t for group in groups for t in group]
        if self.privacy is None:
            safe = Protected(question, texts, Vault(), {})
        else:
            policy = await asyncio.to_thread(self.privacy_policy, tenant)
            try:
                protect = partial(self.privacy.protect, tenant=tenant)
                safe = await asyncio.to_thread(protect, question, texts, policy)
            except PiiBlockedError as exc:
                raise PiiBlocked(
                    f"the question contains {', '.join(exc.types)}, which this tenant does not "
                    "accept; remove it and ask again"
                ) from None
        parts, at = [], 0
        for group in groups:
            parts.append(safe.chunks[at : at + len(group)])
            at += len(group)
        return safe, parts

    async def prepare(
        self,
        tenant: str,
        req: AnswerRequest,
        *,
        request_id: str,
        history: Sequence[Message] = (),
    ) -> Prepared:
        """Everything up to the LLM call; its errors (unknown tenant, blocked PII, a bad
        question) surface here, before a streamed response has started."""
        question = checked_question(req.question, self.settings)
        timer = StageTimer()
        ts = await self._tenant_settings(tenant)
        filters = (
            Filters(frozenset(req.filters.document_ids), frozenset(req.filters.sources))
            if req.filters
            else None
        )
        async with self.share.turn(tenant):
            hits = await self._search(tenant, question, ts, req.top_k, req.mode, filters)
            timer.lap("retrieval")
            hits, history = fit_context(question, hits, history, self._context_chars)
            # Titles and earlier chat turns go to the model too, so they are protected alike.
            safe, (titles, texts, turns) = await self._protect(
                tenant, question, [h.chunk.title for h in hits], [h.chunk.text for h in hits],
                [m["content"] for m in history],
            )  # fmt: skip
        sources = _sources(titles, texts)
        safe_history = [{**m, "content": c} for m, c in zip(history, turns, strict=True)]
        timer.lap("privacy")
        preset, threshold = self._trust_choice(ts, req.trust_preset)
        answer_mode = self._answer_mode(
            req.answer_mode or ts.answer_mode or self.settings.answer_mode
        )
        return Prepared(
            request_id=request_id,
            tenant=tenant,
            hits=hits,
            safe=safe,
            messages=answer_messages(safe.question, sources, safe_history)
            if hits and answer_mode == "generative"
            else [],
            sources=sources,
            preset=preset,
            threshold=threshold,
            salt=cache_salt(self._salt_key, tenant),
            timer=timer,
            answer_mode=answer_mode,
            question=question,
        )

    async def _tenant_settings(self, tenant: str) -> TenantSettings:
        """The tenant's own settings; an unknown tenant fails here, before any work."""
        await asyncio.to_thread(self.tenants.require, tenant)
        return await asyncio.to_thread(self.tenants.settings, tenant)

    async def _search(
        self, tenant: str, question: str, ts: TenantSettings, top_k: int | None,
        mode: RetrievalMode | None = None, filters: Filters | None = None,
    ) -> list[Hit]:  # fmt: skip
        """Retrieval with the request's k and mode, else the tenant's, else the service's."""
        k = top_k or ts.top_k or self.settings.top_k
        mode = mode or ts.retrieval_mode or self.settings.retrieval_mode
        search = partial(self.retriever.search, mode=mode, filters=filters)
        return await asyncio.to_thread(search, tenant, question, k)

    def _answer_mode(self, mode: AnswerMode) -> Literal["extractive", "generative"]:
        """``auto`` quotes on the embedded 135M model (which answers SQuAD 0.25 right when it
        writes, 0.86 when the pipeline quotes) and lets an external, larger LLM write."""
        if mode == "auto":
            return "extractive" if self.settings.embedded_llm else "generative"
        return mode

    def _trust_choice(
        self, ts: TenantSettings, requested: PresetName | None
    ) -> tuple[PresetName, float]:
        """Preset and threshold: the request's, else the tenant's, else the service's."""
        s = self.settings
        preset = requested or ts.trust_preset or s.trust_preset
        return preset, ts.trust_threshold if ts.trust_threshold is not None else s.trust_threshold

    async def answer(
        self,
        tenant: str,
        req: AnswerRequest,
        *,
        request_id: str,
        history: Sequence[Message] = (),
    ) -> Outcome:
        prep = await self.prepare(tenant, req, request_id=request_id, history=history)
        return await self.complete(prep)

    async def complete(self, prep: Prepared) -> Outcome:
        """The answer to a prepared request, in one piece."""
        if prep.answer_mode == "extractive":
            chosen = await self._choose(prep)
            return await self._finish_extractive(prep, chosen)
        if not prep.messages:
            return await self._finish(prep, None, [])
        # The samples share the answer's prompt prefix, run beside it in one batch and end
        # with it.
        cap = SampleCap()

        async def answer() -> Completion:
            done = await self.llm.chat(prep.messages, max_tokens=self.settings.max_answer_tokens,
                                       temperature=0.0, logprobs=self.llm.supports_logprobs,
                                       cache_salt=prep.salt)  # fmt: skip
            cap.answer_done(done.completion_tokens)
            return done

        completion, samples = await asyncio.gather(
            answer(),
            self.trust.draw_samples(prep.messages, prep.preset, cache_salt=prep.salt, cap=cap),
        )
        return await self._finish(prep, completion, samples)

    async def stream(self, prep: Prepared) -> AsyncGenerator[str | Outcome, None]:
        """The answer's text as it is generated (placeholders restored, none split across
        deltas), then the whole ``Outcome`` once trust has scored it."""
        if prep.answer_mode == "extractive":
            chosen = await self._choose(prep)
            yield chosen.text or NO_ANSWER  # the whole answer at once: it is known before trust
            yield await self._finish_extractive(prep, chosen)
            return
        if not prep.messages:
            yield NO_ANSWER
            yield await self._finish(prep, None, [])
            return
        cap = SampleCap()
        samples = asyncio.create_task(
            self.trust.draw_samples(prep.messages, prep.preset, cache_salt=prep.salt, cap=cap)
        )
        try:
            restorer = StreamRestorer(prep.safe.vault)
            completion: Completion | None = None
            async for part in self.llm.chat_stream(
                prep.messages, max_tokens=self.settings.max_answer_tokens,
                logprobs=self.llm.supports_logprobs, cache_salt=prep.salt,
            ):  # fmt: skip
                if isinstance(part, Completion):
                    completion = part
                    cap.answer_done(part.completion_tokens)
                elif text := restorer.feed(part):
                    yield text
            if tail := restorer.flush():
                yield tail
            assert completion is not None  # chat_stream always ends with one
            drawn = await samples
        finally:
            samples.cancel()  # a client that went away stops paying for samples
        yield await self._finish(prep, completion, drawn)

    async def _choose(self, prep: Prepared) -> Chosen:
        async with self.share.turn(prep.tenant):
            return await self.quotes.choose(prep.question, prep.hits)

    async def _finish(
        self, prep: Prepared, completion: Completion | None, samples: Sequence[Completion]
    ) -> Outcome:
        timer = prep.timer
        timer.lap("generation")
        trust: TrustResult | None = None
        quotes: list[Quote] = []
        if completion is None:
            text, redacted = NO_ANSWER, NO_ANSWER
            spend = Spend()
        else:
            # Scored on what the LLM saw (placeholders), restored for the user afterwards.
            trust = await self.trust.score(
                prep.safe.question, completion.text, prep.sources, preset=prep.preset,
                threshold=prep.threshold, answer_logprobs=completion.token_logprobs or None,
                samples=samples, cache_salt=prep.salt, turn=partial(self.share.turn, prep.tenant),
            )  # fmt: skip
            redacted = completion.text.strip()
            text = prep.safe.vault.restore(completion.text).strip()
            # Quotes on the text the user reads, against the chunks as stored (inside the
            # boundary): a sentence without one is what trust calls unsupported.
            async with self.share.turn(prep.tenant):
                quotes, unsupported = await asyncio.to_thread(
                    generative_quotes, text, prep.question, prep.hits
                )
            if trust.preset != "off":
                trust = trust.model_copy(update={"unsupported": unsupported})
            spend = Spend(
                completion.prompt_tokens, completion.completion_tokens,
                trust.usage.prompt_tokens, trust.usage.completion_tokens,
                llm_seconds=(timer.marks["generation"] + timer.elapsed_ms()) / 1000,
            )  # fmt: skip
        timer.lap("trust")
        finish = completion.finish_reason if completion else "stop"
        response = self._response(prep, text, trust, spend, quotes)
        return Outcome(
            response, prep.safe.question, redacted, finish, masked_quotes(quotes, prep.safe)
        )

    async def _finish_extractive(self, prep: Prepared, chosen: Chosen) -> Outcome:
        """The chosen units as the answer; the model's samples over them and the selection
        itself give the trust score. The audit keeps the units masked like the chunks."""
        timer = prep.timer
        timer.lap("selection")
        drawn = await self.quotes.samples(chosen, prep.safe, prep.preset, prep.salt)
        trust = self.quotes.trust(chosen, prep.safe, drawn, preset=prep.preset,
                                  threshold=prep.threshold)  # fmt: skip
        text = chosen.text or NO_ANSWER
        spend = Spend(
            0, 0, trust.usage.prompt_tokens, trust.usage.completion_tokens,
            llm_seconds=(timer.elapsed_ms() / 1000) if drawn else 0.0,
        )  # fmt: skip
        timer.lap("trust")
        response = self._response(prep, text, trust, spend, chosen.quotes, mode="extractive")
        return Outcome(response, prep.safe.question, prep.safe.mask(text), "stop",
                       masked_quotes(chosen.quotes, prep.safe))  # fmt: skip

    def _response(
        self, prep: Prepared, text: str, trust: TrustResult | None, spend: Spend,
        quotes: list[Quote], mode: Literal["extractive", "generative"] = "generative",
    ) -> AnswerResponse:  # fmt: skip
        cited = set(cited_indices(text, len(prep.hits)))
        cost = price(spend, self.prices)
        return AnswerResponse(
            request_id=prep.request_id,
            answer=text,
            citations=[citation(i, h, cited=i in cited) for i, h in enumerate(prep.hits, 1)],
            model=self.llm.model,
            usage=Usage(
                prompt_tokens=spend.prompt_tokens,
                completion_tokens=spend.completion_tokens,
                total_tokens=spend.prompt_tokens + spend.completion_tokens,
                trust_tokens=spend.trust_prompt_tokens + spend.trust_completion_tokens,
            ),
            timings_ms=prep.timer.done(),
            cost=Cost(
                currency=cost.currency,
                basis=cost.basis,
                answer=round(cost.answer, 8),
                trust=round(cost.trust, 8),
                total=round(cost.total, 8),
            ),  # fmt: skip
            privacy=PrivacySummary(entities=prep.safe.entities),
            trust=trust,
            answer_mode=mode,
            quotes=quotes,
        )

    async def score(self, tenant: str, req: ScoreRequest, *, request_id: str) -> ScoreResponse:
        """Trust for an answer produced elsewhere (like TLM's get_trustworthiness_score): the
        given context, or the tenant's retrieval for the question."""
        question = checked_question(req.question, self.settings)
        answer = checked_scored_texts(req.answer, req.context or [], self.settings)
        timer = StageTimer()
        ts = await self._tenant_settings(tenant)
        citations: list[Citation] = []
        async with self.share.turn(tenant):
            if req.context is not None:
                titles, texts = [""] * len(req.context), list(req.context)
            else:
                hits = await self._search(tenant, question, ts, req.top_k)
                titles, texts = [h.chunk.title for h in hits], [h.chunk.text for h in hits]
                citations = [citation(i, h, cited=False) for i, h in enumerate(hits, 1)]
            timer.lap("retrieval")
            safe, ([safe_answer], safe_titles, safe_texts) = await self._protect(
                tenant, question, [answer], titles, texts
            )
        sources = _sources(safe_titles, safe_texts)
        timer.lap("privacy")
        preset, threshold = self._trust_choice(ts, req.trust_preset)
        trust = await self.trust.score(
            safe.question, safe_answer, sources, preset=preset, threshold=threshold,
            cache_salt=cache_salt(self._salt_key, tenant), turn=partial(self.share.turn, tenant),
        )  # fmt: skip
        timer.lap("trust")
        return ScoreResponse(
            request_id=request_id,
            trust=restore_unsupported(trust, answer, safe.vault),
            citations=citations,
            privacy=PrivacySummary(entities=safe.entities),
            timings_ms=timer.done(),
        )


def _sources(titles: Sequence[str], texts: Sequence[str]) -> list[Source]:
    """The prompt's numbered sources from the protected titles and texts."""
    return [Source(t, c) for t, c in zip(titles, texts, strict=True)]
