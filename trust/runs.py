"""Scoring labelled datasets with ``TrustScorer``, concurrently (vLLM batches what arrives
together; one stream at a time would leave the server mostly idle)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rag.llm.prompts import Source, answer_messages
from trust.datasets import HaluEvalItem, SummEditsItem
from trust.evaluate import auroc, balanced_accuracy, ece, f1_flagged
from trust.presets import PresetName
from trust.scorer import TrustResult, TrustScorer

Record = dict[str, Any]
Progress = Callable[[int], None]

SUMMARY_QUESTION = "Summarize the document."


def record(
    item_id: str, label: int, result: TrustResult, latency_s: float, *,
    sample_tokens: int = 0, **extra: Any,
) -> Record:  # fmt: skip
    """One scored item; ``sample_tokens`` adds samples drawn outside the scorer to its cost."""
    return {
        "id": item_id,
        "label": label,
        "score": result.score,
        "flagged": result.flagged,
        "signals": result.signals,
        "samples": result.samples,
        "latency_s": round(latency_s, 3),
        "extra_tokens": result.usage.prompt_tokens + result.usage.completion_tokens + sample_tokens,
        "extra_completion_tokens": result.usage.completion_tokens + sample_tokens,
        "extra_requests": result.usage.requests + (1 if sample_tokens else 0),
        **extra,
    }


async def _bounded(jobs: Sequence[Callable[[], Awaitable[list[Record]]]], concurrency: int,
                   on_done: Progress | None) -> list[Record]:  # fmt: skip
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[list[Record]]]) -> list[Record]:
        async with gate:
            out = await job()
        if on_done:
            on_done(1)
        return out

    done = await asyncio.gather(*(one(j) for j in jobs))
    return [r for rows in done for r in rows]


async def score_halueval(
    items: Sequence[HaluEvalItem], scorer: TrustScorer, *, preset: PresetName, threshold: float,
    concurrency: int = 16, on_done: Progress | None = None,
) -> list[Record]:  # fmt: skip
    """Both answers of every item; the samples are drawn once per item (same question and
    context, so the same prompt) and compared with each answer."""

    def job(it: HaluEvalItem) -> Callable[[], Awaitable[list[Record]]]:
        async def run() -> list[Record]:
            sources = [Source("", it.knowledge)]
            t0 = time.perf_counter()
            samples = await scorer.draw_samples(answer_messages(it.question, sources), preset)
            t_samples = time.perf_counter() - t0
            drawn = sum(c.completion_tokens for c in samples)
            rows = []
            for label, answer in ((1, it.right_answer), (0, it.hallucinated_answer)):
                t1 = time.perf_counter()
                res = await scorer.score(it.question, answer, sources, preset=preset,
                                         threshold=threshold, samples=samples)  # fmt: skip
                rows.append(record(f"{it.id}-{'right' if label else 'hallucinated'}", label,
                                   res, t_samples + time.perf_counter() - t1,
                                   sample_tokens=drawn, words=len(answer.split()),
                                   length_matched=it.length_matched))  # fmt: skip
            return rows

        return run

    return await _bounded([job(it) for it in items], concurrency, on_done)


async def score_summedits(
    items: Sequence[SummEditsItem], scorer: TrustScorer, *, preset: PresetName, threshold: float,
    concurrency: int = 16, on_done: Progress | None = None,
) -> list[Record]:  # fmt: skip
    def job(it: SummEditsItem) -> Callable[[], Awaitable[list[Record]]]:
        async def run() -> list[Record]:
            t0 = time.perf_counter()
            res = await scorer.score(SUMMARY_QUESTION, it.summary, [Source("", it.doc)],
                                     preset=preset, threshold=threshold)  # fmt: skip
            return [record(it.id, it.label, res, time.perf_counter() - t0, split=it.split)]

        return run

    return await _bounded([job(it) for it in items], concurrency, on_done)


def _scores(records: Sequence[Record]) -> tuple[list[int], list[float], list[bool]]:
    scored = [r for r in records if r["score"] is not None]
    return ([r["label"] for r in scored], [float(r["score"]) for r in scored],
            [bool(r["flagged"]) for r in scored])  # fmt: skip


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def hallucination_metrics(records: Sequence[Record]) -> dict[str, Any]:
    labels, scores, flagged = _scores(records)
    matched = [r for r in records if r.get("length_matched") and r["score"] is not None]
    return {
        "auroc": _round(auroc(labels, scores)),
        "auroc_length_matched": _round(
            auroc([r["label"] for r in matched], [r["score"] for r in matched])
        ),
        "n_length_matched": len(matched),
        "f1": _round(f1_flagged(labels, flagged)),
        "f1_always_flag": _round(f1_flagged(labels, [True] * len(labels))),
        "ece": _round(ece(labels, scores)),
        "n": len(labels),
        **cost(records),
    }


def grounding_metrics(records: Sequence[Record]) -> dict[str, Any]:
    labels, scores, flagged = _scores(records)
    return {
        "balanced_accuracy": _round(balanced_accuracy(labels, flagged)),
        "auroc": _round(auroc(labels, scores)),
        "n": len(labels),
        **cost(records),
    }


def cost(records: Sequence[Record]) -> dict[str, Any]:
    if not records:
        return {}
    lat = sorted(r["latency_s"] for r in records)
    return {
        "trust_latency_p50_s": lat[len(lat) // 2],
        "extra_tokens_mean": round(sum(r["extra_tokens"] for r in records) / len(records), 1),
    }
