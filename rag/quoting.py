"""The extractive answer path, and the quotes of every answer.

``QuoteAnswerer.choose`` picks the units (inside the boundary, on the raw text: no LLM sees
it); ``QuoteAnswerer.score`` draws the model's samples over the pseudonymized best units and
turns the selection and the samples into a calibrated trust score. ``generative_quotes``
attributes each sentence of an LLM-written answer to its best-supporting unit.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from privacy.policy import Protected
from rag.core.embedder import Embedder
from rag.core.errors import ContextTooLong, LLMError
from rag.core.settings import Settings
from rag.extractive import Candidate, Selection, UnitCache, select
from rag.llm.client import Completion, LLMClient, SamplingLLMClient
from rag.llm.prompts import quote_messages
from rag.protocol import Quote
from rag.units import units
from retrieval.types import Hit
from trust import calibration as calibration_mod
from trust.calibration import Calibration
from trust.presets import PRESETS, PresetName
from trust.quotes import QUOTE_SIGNALS, attribute, quote_consistency, sample_vote
from trust.scorer import TrustResult, TrustUsage, UnsupportedSentence

log = logging.getLogger("ragtrust.quotes")

SAMPLE_UNITS = 4
"""The best units the samples read: enough that the runner-ups can win the model's vote."""
QUOTE_SAMPLE_TOKENS = 16
"""A few words answer a question over four sentences; more only costs decode time."""
MAX_QUOTED_CHUNKS = 10
"""The chunks whose units are candidates: a request for top_k 50 lists 50 citations, but
cutting and embedding ~1,250 units of them would hold the CPU every other caller shares."""


@dataclass(frozen=True)
class Chosen:
    selection: Selection
    text: str
    """The answer as the user reads it (raw units, each with its [n])."""
    quotes: list[Quote]


class QuoteAnswerer:
    """Built once per process with the retriever's embedder and the LLM; shared by requests."""

    def __init__(
        self,
        llm: LLMClient,
        embedder: Embedder,
        *,
        calibration: Calibration | None = None,
        samples: int = 5,
        temperature: float = 0.8,
    ) -> None:
        self.llm = llm
        self.embedder = embedder
        self.calibration = calibration if calibration is not None else Calibration()
        self.k = samples
        self.temperature = temperature
        self.units = UnitCache()

    @classmethod
    def from_settings(cls, settings: Settings, llm: LLMClient, embedder: Embedder) -> QuoteAnswerer:
        calibration = calibration_mod.load(settings.trust_calibration_extractive)
        return cls(llm, embedder, calibration=calibration, samples=settings.trust_samples,
                   temperature=settings.trust_sample_temperature)  # fmt: skip

    async def choose(self, question: str, hits: Sequence[Hit]) -> Chosen:
        chunks = [(h.chunk.title, h.chunk.text, h.score) for h in hits[:MAX_QUOTED_CHUNKS]]
        sel = await asyncio.to_thread(
            partial(select, cache=self.units), question, chunks, self.embedder
        )
        parts, quotes, at = [], [], 0
        for c in sel.chosen:
            chunk = hits[c.source - 1].chunk
            shown = f"{c.unit.text} [{c.source}]"
            quotes.append(Quote(
                answer_start=at, answer_end=at + len(c.unit.text), source=c.source,
                document_id=chunk.doc_id, chunk_id=chunk.chunk_id, start=c.unit.start,
                end=c.unit.end, text=chunk.text[c.unit.start : c.unit.end], support=1.0,
            ))  # fmt: skip
            parts.append(shown)
            at += len(shown) + 1
        return Chosen(sel, " ".join(parts), quotes)

    def _wants_samples(self, preset: PresetName) -> bool:
        spec = PRESETS[preset]
        weighed = "consistency" in self.calibration.uses(QUOTE_SIGNALS)
        can = isinstance(self.llm, SamplingLLMClient) and self.k > 0
        return spec.consistency and weighed and can

    async def samples(
        self, chosen: Chosen, safe: Protected, preset: PresetName, salt: str
    ) -> list[Completion]:
        """The model's k answers over the best units, as the LLM may see them (masked)."""
        if not chosen.selection.chosen or not self._wants_samples(preset):
            return []
        assert isinstance(self.llm, SamplingLLMClient)
        best = [safe.mask(c.unit.text) for c in chosen.selection.ranked[:SAMPLE_UNITS]]
        try:
            return await self.llm.sample(
                quote_messages(safe.question, best), n=self.k, max_tokens=QUOTE_SAMPLE_TOKENS,
                temperature=self.temperature, cache_salt=salt,
            )  # fmt: skip
        except (LLMError, ContextTooLong) as exc:
            log.warning("the quote's samples were skipped: %s", exc.message)
            return []

    def trust(
        self, chosen: Chosen, safe: Protected, drawn: Sequence[Completion], *,
        preset: PresetName, threshold: float,
    ) -> TrustResult:  # fmt: skip
        if not PRESETS[preset].enabled:
            return TrustResult.off(preset, threshold)
        signals = quote_signals(chosen.selection, safe, [c.text for c in drawn])
        score = self.calibration.score(signals) if signals else 0.0
        score = 0.0 if score is None else score
        usage = TrustUsage()
        if drawn:
            tokens = sum(c.completion_tokens for c in drawn)
            usage = TrustUsage(requests=1, prompt_tokens=drawn[0].prompt_tokens,
                               completion_tokens=tokens)  # fmt: skip
        return TrustResult(
            score=round(score, 4), flagged=score < threshold, threshold=threshold,
            preset=preset, signals={k: round(v, 4) for k, v in signals.items()},
            unsupported=[], samples=len(drawn), usage=usage,
        )  # fmt: skip


def quote_signals(sel: Selection, safe: Protected, samples: Sequence[str]) -> dict[str, float]:
    """The extractive signals (trust/quotes.py) of a selection; empty when nothing was chosen."""
    if not sel.chosen:
        return {}
    best: Candidate = sel.ranked[0]
    # The fused scores are logits: their softmax over every candidate is the selector's
    # belief that the answer is among the units it chose.
    weight = [math.exp(c.score - best.score) for c in sel.ranked]
    out = {
        "coverage": best.features["lexical"],
        "similarity": max(0.0, best.features["dense"]),
        "margin": 1.0 - math.exp(-max(0.0, sel.margin)),
        "choice": sum(weight[: len(sel.chosen)]) / sum(weight),
        "agreement": ((sel.dense_pick is best) + (sel.lexical_pick is best)) / 2,
        "answer_type": best.features["answer_type"],
    }
    quoted = " ".join(safe.mask(c.unit.text) for c in sel.chosen)
    said = quote_consistency(quoted, samples, safe.question)
    if said is not None:
        out["consistency"] = said
        shown = {id(c) for c in sel.chosen}
        others = [safe.mask(c.unit.text) for c in sel.ranked[:SAMPLE_UNITS] if id(c) not in shown]
        vote = sample_vote(quoted, others, samples, safe.question)
        if vote is not None:
            out["vote"] = vote
    return out


def generative_quotes(
    answer: str, question: str, hits: Sequence[Hit]
) -> tuple[list[Quote], list[UnsupportedSentence]]:
    """Each sentence of an LLM-written answer with its best-supporting unit, and the
    sentences no unit supports."""
    found = [(n, u) for n, h in enumerate(hits, 1) for u in units(h.chunk.text)]
    attributed, missing = attribute(answer, question, [u.read for _, u in found])
    quotes = []
    for a in attributed:
        n, u = found[a.source]
        chunk = hits[n - 1].chunk
        quotes.append(Quote(
            answer_start=a.start, answer_end=a.end, source=n, document_id=chunk.doc_id,
            chunk_id=chunk.chunk_id, start=u.start, end=u.end, text=chunk.text[u.start : u.end],
            support=a.support,
        ))  # fmt: skip
    unsupported = [UnsupportedSentence(text=answer[s:e], start=s, end=e, support=sup)
                   for s, e, sup in missing]  # fmt: skip
    return quotes, unsupported
