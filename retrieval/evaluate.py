"""Retrieval evaluation on BEIR-format collections: nDCG@10, recall@100, MRR@10.

Chunks are ranked and collapsed to documents by their best chunk (MaxP), the usual way to
score passage retrieval against document-level qrels. qrels with score > 0 are relevant and
graded qrels use the grade as gain (BEIR's convention, linear gain).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.core.errors import InvalidRequest
from retrieval.fusion import Ranked

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class QueryResult:
    query_id: str
    ranked: list[str]  # document ids, best first
    scores: list[float]
    ndcg10: float
    recall100: float
    mrr10: float


def load_queries(path: Path) -> dict[str, str]:
    queries = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                obj = json.loads(line)
                queries[str(obj["_id"])] = str(obj["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InvalidRequest(f"{path}:{n}: not a BEIR query ({exc})") from None
    return queries


def load_qrels(path: Path) -> Qrels:
    """``query-id corpus-id score`` rows (tab-separated, optional header)."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                continue  # header or blank line
            if int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def ndcg_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], rel: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & set(rel)) / len(rel) if rel else 0.0


def mrr_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    return next((1 / (i + 1) for i, d in enumerate(ranked[:k]) if d in rel), 0.0)


def collapse(
    ranked: Ranked, doc_of: Callable[[int], str], depth: int
) -> tuple[list[str], list[float]]:
    """Chunk ranking -> document ranking by each document's best chunk."""
    docs: dict[str, float] = {}
    for i, s in zip(ranked[0].tolist(), ranked[1].tolist(), strict=True):
        docs.setdefault(doc_of(i), s)
        if len(docs) == depth:
            break
    return list(docs), list(docs.values())


def evaluate(
    queries: dict[str, str],
    qrels: Qrels,
    rank: Callable[[str], tuple[list[str], list[float]]],
) -> Iterator[QueryResult]:
    """Run every query that has qrels through ``rank`` (query text -> documents, scores)."""
    for qid in sorted(q for q in qrels if q in queries):
        ranked, scores = rank(queries[qid])
        rel = qrels[qid]
        yield QueryResult(qid, ranked, scores, ndcg_at(ranked, rel), recall_at(ranked, rel),
                          mrr_at(ranked, rel))  # fmt: skip


def summary(results: list[QueryResult], mode: str) -> dict[str, float | int | str]:
    def mean(values: list[float]) -> float:
        return round(float(np.mean(values)), 4) if values else 0.0

    return {
        "ndcg@10": mean([r.ndcg10 for r in results]),
        "recall@100": mean([r.recall100 for r in results]),
        "mrr@10": mean([r.mrr10 for r in results]),
        "queries": len(results),
        "mode": mode,
    }
