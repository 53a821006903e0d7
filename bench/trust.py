"""Cost of trust: the latency of an answer alone vs. the same answer with trust, measured
side by side, one question at a time (the latency a user sees, not batch throughput).

The two conditions alternate per question and use different cache salts, so neither reuses
the other's prefix-cache entries; within "answer + trust" the samples share the answer's
prompt and are sent concurrently with it, as the pipeline does.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from rag.llm.prompts import Source, answer_messages
from rag.squad import f1_score
from trust.evaluate import auroc, ece
from trust.presets import PresetName
from trust.scorer import TrustScorer


async def _answer_alone(scorer: TrustScorer, messages: Any, max_tokens: int, salt: str) -> float:
    t0 = time.perf_counter()
    await scorer.llm.chat(messages, max_tokens=max_tokens, logprobs=True, cache_salt=salt)
    return time.perf_counter() - t0


async def _answer_with_trust(
    scorer: TrustScorer, item: dict[str, Any], preset: PresetName, max_tokens: int, salt: str,
    threshold: float,
) -> tuple[float, dict[str, Any]]:  # fmt: skip
    sources = [Source(item["title"], item["context"])]
    messages = answer_messages(item["question"], sources)
    t0 = time.perf_counter()
    main, samples = await asyncio.gather(
        scorer.llm.chat(messages, max_tokens=max_tokens, logprobs=True, cache_salt=salt),
        scorer.draw_samples(messages, preset, cache_salt=salt),
    )
    trust = await scorer.score(item["question"], main.text, sources, preset=preset,
                               threshold=threshold, answer_logprobs=main.token_logprobs,
                               samples=samples, cache_salt=salt)  # fmt: skip
    elapsed = time.perf_counter() - t0
    correct = int(f1_score(main.text, item["answers"]) >= 0.5)
    return elapsed, {
        "id": item["id"], "label": correct, "score": trust.score, "signals": trust.signals,
        "answer_tokens": main.completion_tokens,
        # The samples were drawn beside the answer, outside the scorer: count them here.
        "extra_tokens": trust.usage.prompt_tokens + trust.usage.completion_tokens
        + sum(c.completion_tokens for c in samples) + (samples[0].prompt_tokens if samples else 0),
    }  # fmt: skip


async def run(
    items: Sequence[dict[str, Any]], scorer: TrustScorer, *, preset: PresetName,
    max_tokens: int, threshold: float, on_done: Callable[[int], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    alone, with_trust, rows = [], [], []
    for i, item in enumerate(items):
        messages = answer_messages(item["question"], [Source(item["title"], item["context"])])
        first_alone = i % 2 == 0
        if first_alone:
            alone.append(await _answer_alone(scorer, messages, max_tokens, f"bench-a-{i}"))
        t, row = await _answer_with_trust(scorer, item, preset, max_tokens, f"bench-t-{i}",
                                          threshold)  # fmt: skip
        with_trust.append(t)
        rows.append(row)
        if not first_alone:
            alone.append(await _answer_alone(scorer, messages, max_tokens, f"bench-a-{i}"))
        if on_done:
            on_done(1)
    p50_alone, p50_trust = statistics.median(alone), statistics.median(with_trust)
    labels = [r["label"] for r in rows]
    scores = [r["score"] or 0.0 for r in rows]
    auc, err = auroc(labels, scores), ece(labels, scores)
    return {
        "preset": preset,
        "n": len(rows),
        "latency_p50_answer_s": round(p50_alone, 3),
        "latency_p50_answer_with_trust_s": round(p50_trust, 3),
        "latency_ratio_p50": round(p50_trust / p50_alone, 3),
        "extra_tokens_mean": round(statistics.mean(r["extra_tokens"] for r in rows), 1),
        "answer_tokens_mean": round(statistics.mean(r["answer_tokens"] for r in rows), 1),
        "accuracy": round(statistics.mean(labels), 4),
        "auroc": None if auc is None else round(auc, 4),
        "ece": None if err is None else round(err, 4),
        "items": rows,
    }
