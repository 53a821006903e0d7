"""Hybrid ranking's parameters and fusion, the same whichever backend holds the chunks.

BM25 and dense retrieval each propose candidates; the union is re-ranked with *both* scores
for every candidate (the chunk BM25 missed gets its exact dense score and vice versa, instead
of an assumed floor) and fused as a convex combination of min-max-normalized scores. Measured
on SciFact (docs/retrieval.md): this beats reciprocal rank fusion and each retriever alone.
Dense pseudo-relevance feedback (Rocchio) was tried and did not help, so it is not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.fusion import convex


@dataclass(frozen=True)
class HybridParams:
    """Defaults from the literature, not fitted to any one collection."""

    bm25_weight: float = 0.4  # convex fusion weight of the lexical scores
    candidates: int = 100  # per retriever, before fusion


def fuse(lexical: np.ndarray, dense: np.ndarray, params: HybridParams) -> np.ndarray:
    """One score per candidate from its two (aligned arrays, one entry per candidate)."""
    return convex([lexical, dense], [params.bm25_weight, 1 - params.bm25_weight])
