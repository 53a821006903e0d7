"""Fusing ranked lists from BM25 and dense retrieval into one.

Pure functions over (position, score) arrays, so they are unit-tested without any index.
``convex`` is the default: Bruch et al. (2023, "An Analysis of Fusion Functions for Hybrid
Retrieval") found a convex combination of normalized scores beats reciprocal rank fusion
and needs little tuning; RRF stays available as the rank-only classic.
"""

from __future__ import annotations

import numpy as np

Ranked = tuple[np.ndarray, np.ndarray]  # (chunk positions, scores), best first


def rrf(lists: list[Ranked], weights: list[float], k: int = 60) -> Ranked:
    """Reciprocal rank fusion: sum of w / (k + rank)."""
    fused: dict[int, float] = {}
    for (ids, _), w in zip(lists, weights, strict=True):
        for rank, i in enumerate(ids.tolist()):
            fused[i] = fused.get(i, 0.0) + w / (k + rank + 1)
    return _sorted(fused)


def convex(lists: list[Ranked], weights: list[float]) -> Ranked:
    """Weighted sum of min-max-normalized scores; a candidate missing from a list gets that
    list's floor (0), which is what its score would at most have normalized to."""
    fused: dict[int, float] = {}
    for (ids, scores), w in zip(lists, weights, strict=True):
        if not len(ids):
            continue
        lo, hi = float(scores.min()), float(scores.max())
        norm = (scores - lo) / (hi - lo) if hi > lo else np.ones_like(scores)
        for i, s in zip(ids.tolist(), norm.tolist(), strict=True):
            fused[i] = fused.get(i, 0.0) + w * s
    return _sorted(fused)


def _sorted(fused: dict[int, float]) -> Ranked:
    if not fused:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    ids = np.fromiter(fused.keys(), np.int64, len(fused))
    scores = np.fromiter(fused.values(), np.float32, len(fused))
    order = np.argsort(-scores, kind="stable")
    return ids[order], scores[order]
