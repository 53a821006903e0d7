"""Fusing BM25 and dense scores into one ranking.

Pure functions over numpy arrays, unit-tested without any index. The default is a convex
combination of min-max-normalized scores over the union of both candidate lists, each
candidate scored by *both* retrievers (no imputed floor for "missing" scores): Bruch et al.
(2023, "An Analysis of Fusion Functions for Hybrid Retrieval") found convex combination
beats reciprocal rank fusion and needs little tuning. RRF stays available as the rank-only
classic.
"""

from __future__ import annotations

import numpy as np

Ranked = tuple[np.ndarray, np.ndarray]  # (chunk positions, scores), best first


def minmax(scores: np.ndarray) -> np.ndarray:
    if not len(scores):
        return scores
    lo, hi = float(scores.min()), float(scores.max())
    return (scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)


def convex(scores: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Weighted sum of min-max-normalized score arrays aligned on the same candidates."""
    out = np.zeros(len(scores[0]), np.float32)
    for s, w in zip(scores, weights, strict=True):
        out += w * minmax(np.asarray(s, np.float32))
    return out


def rrf(scores: list[np.ndarray], weights: list[float], k: int = 60) -> np.ndarray:
    """Reciprocal rank fusion over aligned candidates: sum of w / (k + rank)."""
    out = np.zeros(len(scores[0]), np.float32)
    for s, w in zip(scores, weights, strict=True):
        ranks = np.empty(len(s), np.int64)
        ranks[np.argsort(-np.asarray(s), kind="stable")] = np.arange(len(s))
        out += w / (k + ranks + 1)
    return out


def top(ids: np.ndarray, scores: np.ndarray, n: int) -> Ranked:
    """The ``n`` best (id, score) pairs, best first."""
    if len(scores) > n:
        keep = np.argpartition(-scores, n - 1)[:n]
        ids, scores = ids[keep], scores[keep]
    order = np.argsort(-scores, kind="stable")
    return ids[order], scores[order]
