"""``TrustScorer``: the signals a preset asks for, fused into one calibrated trust score.

Wiring, for the answer pipeline (see README "Trust")::

    messages = answer_messages(question, sources)
    main, samples = await asyncio.gather(
        llm.chat(messages, max_tokens=..., logprobs=True, cache_salt=salt),
        scorer.draw_samples(messages, preset, cache_salt=salt),  # [] unless the preset samples
    )
    trust = await scorer.score(question, main.text, sources, preset=preset,
                               threshold=threshold, answer_logprobs=main.token_logprobs,
                               samples=samples, cache_salt=salt)

For an answer written elsewhere (``/v1/score``) pass no logprobs and no samples: the scorer
draws the samples itself and reads the answer's token logprobs with a prefill-only request.
Everything the scorer sees must be what the LLM saw — pseudonymized question, sources and
answer — so call it before placeholders are restored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from rag.core.embedder import Embedder
from rag.core.errors import ContextTooLong, LLMError
from rag.core.settings import Settings
from rag.core.types import CpuTurn
from rag.llm.client import Completion, LLMClient, Message, SampleCap, SamplingLLMClient
from rag.llm.prompts import Source, answer_messages, reflection_messages
from trust import calibration as calibration_mod
from trust.calibration import Calibration
from trust.grounding import ground
from trust.presets import PRESETS, PresetName
from trust.reflection import TOP_LOGPROBS, p_yes
from trust.signals import Evidence, Need, compute, needs, on_cpu

log = logging.getLogger("ragtrust.trust")
T = TypeVar("T")


class UnsupportedSentence(BaseModel):
    text: str
    start: int = Field(description="Character offset of the sentence in the answer.")
    end: int
    support: float = Field(description="Share of the sentence's claims found in the context.")


class TrustUsage(BaseModel):
    """What trust cost on the LLM, for cost accounting (not part of the answer's JSON)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class TrustResult(BaseModel):
    score: float | None = Field(description="Calibrated P(answer is correct); None when off.")
    flagged: bool = Field(description="score < threshold.")
    threshold: float
    preset: PresetName
    signals: dict[str, float | None]
    unsupported: list[UnsupportedSentence]
    samples: int = Field(description="Stochastic samples the consistency signal compared.")
    usage: TrustUsage = Field(default_factory=TrustUsage, exclude=True)

    @classmethod
    def off(cls, preset: PresetName, threshold: float) -> TrustResult:
        """What a preset that computes nothing returns: no score, nothing flagged."""
        return cls(score=None, flagged=False, threshold=threshold, preset=preset, signals={},
                   unsupported=[], samples=0)  # fmt: skip


class TrustScorer:
    """Built once per process (it holds the embedder and the calibration), shared by requests."""

    def __init__(
        self,
        llm: LLMClient,
        embedder: Embedder,
        *,
        calibration: Calibration | None = None,
        samples: int = 5,
        sample_temperature: float = 0.8,
        sample_max_tokens: int = 32,
    ) -> None:
        self.llm = llm
        self.embedder = embedder
        self.calibration = calibration if calibration is not None else calibration_mod.load()
        self.k = samples
        self.sample_temperature = sample_temperature
        self.sample_max_tokens = sample_max_tokens

    @classmethod
    def from_settings(cls, settings: Settings, llm: LLMClient, embedder: Embedder) -> TrustScorer:
        return cls(
            llm,
            embedder,
            calibration=calibration_mod.load(settings.trust_calibration),
            samples=settings.trust_samples,
            sample_temperature=settings.trust_sample_temperature,
            sample_max_tokens=settings.trust_sample_max_tokens,
        )

    @property
    def can_sample(self) -> bool:
        return isinstance(self.llm, SamplingLLMClient)

    async def draw_samples(
        self,
        messages: list[Message],
        preset: PresetName,
        *,
        cache_salt: str | None = None,
        cap: SampleCap | None = None,
    ) -> list[Completion]:
        """The k samples the preset wants (none if it wants none, the backend cannot, or the
        request fails: trust then goes without consistency, and the answer still stands)."""
        spec = PRESETS[preset]
        weighed = "consistency" in self.calibration.uses(spec.signals)
        if not (spec.consistency and weighed and self.can_sample and self.k > 0):
            return []
        assert isinstance(self.llm, SamplingLLMClient)
        drawn = await self._guard(
            self.llm.sample(
                messages,
                n=self.k,
                max_tokens=self.sample_max_tokens,
                temperature=self.sample_temperature,
                cache_salt=cache_salt,
                cap=cap,
            )
        )
        return drawn or []

    async def score(
        self,
        question: str,
        answer: str,
        sources: Sequence[Source],
        *,
        preset: PresetName = "balanced",
        threshold: float = 0.5,
        answer_logprobs: Sequence[float] | None = None,
        samples: Sequence[Completion] | None = None,
        cache_salt: str | None = None,
        turn: CpuTurn | None = None,
    ) -> TrustResult:
        """``turn``: the caller's CPU turn (rag.fair_share), held while the signals compute on
        threads (grounding reads every context token, consistency embeds the samples)."""
        spec = PRESETS[preset]
        if not spec.enabled:
            return TrustResult.off(preset, threshold)
        usage = TrustUsage()
        messages = answer_messages(question, sources)
        sampling = isinstance(self.llm, SamplingLLMClient)
        # LLM calls only for what the signals the calibration weighs for this preset read.
        wanted = needs(self.calibration.uses(spec.signals)) if sampling else set()
        head, cut = lift_head(answer)
        # Samples as long as the answer they are read against, once its length is known.
        cap = SampleCap()
        if answer_logprobs is not None:
            cap.answer_done(len(answer_logprobs))
        fetch: dict[Need, Callable[[], Awaitable[Any]]] = {
            "samples": lambda: self.draw_samples(messages, preset, cache_salt=cache_salt, cap=cap),
            "answer_logprobs": lambda: self._guard(
                self._forced(messages, answer, cache_salt, usage, cap)
            ),
            "bare_logprobs": lambda: self._guard(
                self._forced(answer_messages(question, []), head, cache_salt, usage)
            ),
            "grade": lambda: self._guard(
                self._reflect(question, sources, answer, cache_salt, usage)
            ),
        }
        given: dict[Need, Any] = {"samples": samples, "answer_logprobs": answer_logprobs}
        todo = [n for n in fetch if n in wanted and given.get(n) is None]
        got = dict(zip(todo, await asyncio.gather(*(fetch[n]() for n in todo)), strict=True))
        drawn: list[Completion] = list(given["samples"] or got.get("samples") or [])
        logprobs = given["answer_logprobs"]
        # Samples are trust's cost whoever drew them (the pipeline draws them beside the answer).
        if drawn:
            usage.requests += 1  # one n=k request, its prompt counted once
            usage.prompt_tokens += drawn[0].prompt_tokens
            usage.completion_tokens += sum(c.completion_tokens for c in drawn)
        grounding = None
        if spec.grounding:
            grounding = await on_cpu(turn, ground, answer, question, [s.text for s in sources])
        evidence = Evidence(
            question=question,
            answer=answer,
            samples=drawn,
            answer_logprobs=list(logprobs) if logprobs is not None else got.get("answer_logprobs"),
            bare_logprobs=got.get("bare_logprobs"),
            head_cut=cut,
            grade=got.get("grade"),
            grounding=grounding,
            turn=turn,
        )
        values = await compute(spec.signals, evidence, self.embedder)
        score = self.calibration.score({k: v for k, v in values.items() if v is not None})
        return TrustResult(
            score=None if score is None else round(score, 4),
            flagged=score is not None and score < threshold,
            threshold=threshold,
            preset=preset,
            signals={k: None if v is None else round(v, 4) for k, v in values.items()},
            unsupported=[
                UnsupportedSentence(
                    text=s.sentence.text,
                    start=s.sentence.start,
                    end=s.sentence.end,
                    support=round(s.support, 4),
                )
                for s in (grounding.unsupported() if grounding else [])
            ],  # fmt: skip
            samples=len(drawn),
            usage=usage,
        )

    async def _forced(
        self, messages: list[Message], answer: str, salt: str | None, usage: TrustUsage,
        cap: SampleCap | None = None,
    ) -> list[float]:  # fmt: skip
        assert isinstance(self.llm, SamplingLLMClient)
        lps = await self.llm.continuation_logprobs(messages, answer, cache_salt=salt)
        if cap is not None:
            cap.answer_done(len(lps))
        usage.requests += 1
        usage.completion_tokens += 1
        return lps

    async def _reflect(
        self, question: str, sources: Sequence[Source], answer: str, salt: str | None,
        usage: TrustUsage,
    ) -> float | None:  # fmt: skip
        if not isinstance(self.llm, SamplingLLMClient):
            return None
        grade = await self.llm.chat(
            reflection_messages(question, sources, answer),
            max_tokens=1,
            top_logprobs=TOP_LOGPROBS,
            cache_salt=salt,
        )
        if not grade.top_logprobs:
            return None
        usage.requests += 1
        usage.prompt_tokens += grade.prompt_tokens
        usage.completion_tokens += grade.completion_tokens
        return p_yes(grade.top_logprobs[0])

    @staticmethod
    async def _guard(job: Awaitable[T]) -> T | None:
        """A signal whose LLM call fails is left out (and logged); the answer still stands."""
        try:
            return await job
        except (LLMError, ContextTooLong) as exc:
            log.warning("a trust signal was skipped: %s", exc.message)
            return None


LIFT_HEAD_CHARS = 160
"""The context lift reads the answer's opening, about 40 tokens: the prefill-only request
that prices it without the context costs ~9 ms a prompt position on a CPU server (the
logprobs of every position), so a 160-token answer paid 3 s for it after it was done. The
claim a question asks for is in an answer's first sentence or two; grounding still reads
every sentence."""


def lift_head(answer: str) -> tuple[str, bool]:
    """The answer's opening for the context lift (cut at a space), and whether it was cut."""
    text = answer.strip()
    if len(text) <= LIFT_HEAD_CHARS:
        return text, False
    cut = text.rfind(" ", 0, LIFT_HEAD_CHARS)
    return text[: cut if cut > 0 else LIFT_HEAD_CHARS], True


async def _done(value: T) -> T:
    return value
