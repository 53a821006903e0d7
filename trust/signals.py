"""The signals trust fuses, as a registry: each signal says which LLM results it reads and
computes itself from them. The scorer asks the LLM for a result only when a signal the
calibration weighs reads it, and at most once however many signals read it (the answer's
logprobs feed both ``confidence`` and ``context_lift``) — the way Presidio's recognizers
declare what they detect and the engine runs the ones a request asks for.

Each value is in [0, 1] (higher = more likely correct), or None when the preset did not ask
for it or the backend cannot provide it. None is a normal state, never an error: calibration
picks the model fitted on exactly the signals that are present."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Literal, ParamSpec, TypeVar

from rag.core.embedder import Embedder
from rag.core.types import CpuTurn
from rag.llm.client import Completion
from trust.confidence import context_lift, token_confidence
from trust.consistency import consistency
from trust.grounding import Grounding

SIGNAL_NAMES: tuple[str, ...] = (
    "consistency",
    "grounding",
    "confidence",
    "context_lift",
    "reflection",
    # extractive answers' own (trust/quotes.py); consistency above is shared by both modes
    "coverage",
    "similarity",
    "margin",
    "choice",
    "agreement",
    "answer_type",
    "vote",
)

Need = Literal["samples", "answer_logprobs", "bare_logprobs", "grade"]
"""An LLM result a signal reads: k samples of the answer; the answer's token logprobs with
the context (its own, or one prefill-only request); the same without the context; the
model's yes/no grade of the answer."""


@dataclass
class Evidence:
    """What one scoring call gathered before any signal is computed."""

    question: str
    answer: str
    samples: list[Completion] = field(default_factory=list)
    answer_logprobs: list[float] | None = None
    bare_logprobs: list[float] | None = None
    head_cut: bool = False
    """Whether ``bare_logprobs`` price only the answer's opening (trust.scorer.lift_head)."""
    grade: float | None = None
    grounding: Grounding | None = None
    turn: CpuTurn | None = None
    """The request's CPU turn, held by signals that compute on a thread."""


@dataclass(frozen=True)
class Signal:
    name: str
    doc: str
    reads: frozenset[Need]
    compute: Callable[[Evidence, Embedder], Awaitable[float | None]]


P = ParamSpec("P")
T = TypeVar("T")


async def on_cpu(turn: CpuTurn | None, fn: Callable[P, T], *args: P.args, **kw: P.kwargs) -> T:
    """``fn`` on a thread, inside the request's CPU turn when it has one."""
    async with turn() if turn is not None else nullcontext():
        return await asyncio.to_thread(fn, *args, **kw)


async def _consistency(ev: Evidence, embedder: Embedder) -> float | None:
    if not ev.samples:
        return None
    texts = [c.text for c in ev.samples]
    found = await on_cpu(ev.turn, consistency, ev.answer, texts, ev.question, embedder)
    return found.score


async def _grounding(ev: Evidence, embedder: Embedder) -> float | None:
    return ev.grounding.score if ev.grounding else None


async def _confidence(ev: Evidence, embedder: Embedder) -> float | None:
    return token_confidence(ev.answer_logprobs) if ev.answer_logprobs else None


async def _context_lift(ev: Evidence, embedder: Embedder) -> float | None:
    if not ev.bare_logprobs:
        return None
    return context_lift(ev.answer_logprobs or [], ev.bare_logprobs, head=ev.head_cut)


async def _reflection(ev: Evidence, embedder: Embedder) -> float | None:
    return ev.grade


SIGNALS: dict[str, Signal] = {
    s.name: s
    for s in (
        Signal(
            "consistency",
            "Semantic agreement of the answer with k stochastic samples of it.",
            frozenset({"samples"}),
            _consistency,
        ),
        Signal(
            "grounding",
            "Support of the answer's weakest sentence by the context (lexical, not length).",
            frozenset(),
            _grounding,
        ),
        Signal(
            "confidence",
            "Geometric-mean token probability of the answer.",
            frozenset({"answer_logprobs"}),
            _confidence,
        ),
        Signal(
            "context_lift",
            "How much more likely the context makes the answer's weakest tokens than the "
            "question alone does.",
            frozenset({"answer_logprobs", "bare_logprobs"}),
            _context_lift,
        ),
        Signal(
            "reflection",
            "The model's own P(yes) that the answer is correct given the context.",
            frozenset({"grade"}),
            _reflection,
        ),
    )
}
"""The generative answer's signals, in the order responses list them."""


def needs(signals: set[str]) -> set[Need]:
    """The LLM results the given signals read."""
    return {n for name in signals for n in SIGNALS[name].reads}


async def compute(
    asked: tuple[str, ...], ev: Evidence, embedder: Embedder
) -> dict[str, float | None]:
    """Every registered signal: those the preset asked for computed from ``ev``, None for the
    others."""
    values = await asyncio.gather(*(SIGNALS[name].compute(ev, embedder) for name in asked))
    got = dict(zip(asked, values, strict=True))
    return {name: got.get(name) for name in SIGNALS}
