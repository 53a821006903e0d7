"""The two index backends side by side: the same SciFact chunks and vectors in index files and
in PostgreSQL (pgvector HNSW + BM25 from term tables), the same queries through each
``ChunkStore.search`` (the path the service takes), nDCG@10 / recall@100 / MRR@10 per mode and
top-10 latency (query embedding included), then the same at ~100k chunks (SciFact's chunks
ten times, vectors jittered, as ``bench.retrieval`` builds its large index).

The corpus is embedded once, through the real retriever into the file store; its vectors are
then written to PostgreSQL, so the backends differ only in how they store and rank.

Run: .venv/bin/python -m bench.index_backends [--scale 10] [--out bench/results/index_backends.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import track
from sqlalchemy import create_engine, text

from bench.retrieval import percentiles, timed
from rag.core.settings import get_settings
from rag.core.types import RETRIEVAL_MODES
from retrieval.beir import TENANT, index_corpus
from retrieval.evaluate import evaluate, load_qrels, load_queries, summary
from retrieval.pg_store import PgIndexStore
from retrieval.retriever import ChunkStore, Retriever
from retrieval.store import IndexStore
from retrieval.types import Chunk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.audit.pgcluster: the throwaway PostgreSQL
from tests.audit import pgcluster  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "scifact"


def documents(hits_of: Callable[[str], Sequence[Any]]) -> Callable[[str], tuple[list, list]]:
    """Query -> (document ids, scores) by each document's best chunk, 100 deep (MaxP)."""

    def rank(query: str) -> tuple[list[str], list[float]]:
        docs: dict[str, float] = {}
        for h in hits_of(query):
            docs.setdefault(h.chunk.doc_id, h.score)
            if len(docs) == 100:
                break
        return list(docs), list(docs.values())

    return rank


def quality(retriever: Retriever, queries: dict[str, str], qrels: Any, console: Console,
            label: str) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    for mode in RETRIEVAL_MODES:
        with console.status(f"{label}: {mode} queries ..."):
            rank = documents(partial(retriever.search, TENANT, k=400, mode=mode))
            s = summary(list(evaluate(queries, qrels, rank)), mode)
        out[mode] = {k: s[k] for k in ("ndcg@10", "recall@100", "mrr@10", "queries")}
    return out


def latency(arms: dict[str, Retriever], sample: list[str]) -> dict[str, Any]:
    """Top-10 p50/p95 per backend and mode (query embedding included), the backends taking
    turns query by query so that a noisy neighbour or a warm-up hits both alike, and each
    mode's p50 ratio."""
    first, second = list(arms)
    out: dict[str, Any] = {name: {} for name in arms} | {"ratios": {}}
    for mode in RETRIEVAL_MODES:
        times: dict[str, list[float]] = {name: [] for name in arms}
        for q in sample:
            for name, r in arms.items():
                times[name].append(timed(partial(r.search, TENANT, k=10, mode=mode), q))
        for name in arms:
            out[name][mode] = percentiles(times[name])
        ratio = out[second][mode]["p50_ms"] / out[first][mode]["p50_ms"]
        out["ratios"][f"{mode} {second}/{first} p50"] = round(ratio, 2)
    return out


def scaled(chunks: list[Chunk], vectors: np.ndarray, copies: int) -> tuple[list[Chunk], np.ndarray]:
    rng = np.random.default_rng(0)
    out, parts = [], []
    for c in range(copies):
        out += [replace(ch, chunk_id=f"{ch.chunk_id}~{c}", doc_id=f"{ch.doc_id}~{c}")
                for ch in chunks]  # fmt: skip
        jitter = vectors + (rng.normal(0, 0.02, vectors.shape) if c else 0)
        parts.append((jitter / np.linalg.norm(jitter, axis=1, keepdims=True)).astype(np.float32))
    return out, np.concatenate(parts)


def write_batched(store: ChunkStore, chunks: list[Chunk], vectors: np.ndarray, console: Console,
                  label: str, batch: int = 2000) -> float:  # fmt: skip
    """Upserts of about ``batch`` chunks, cut only between documents (an upsert replaces
    whole documents); seconds taken."""
    cuts = [0] + [i for i in range(1, len(chunks)) if chunks[i].doc_id != chunks[i - 1].doc_id]
    starts, last = [], -batch
    for i in cuts:
        if i - last >= batch:
            starts.append(i)
            last = i
    bounds = list(zip(starts, [*starts[1:], len(chunks)], strict=True))
    t0 = time.perf_counter()
    for s, e in track(bounds, console=console, description=f"writing {label}", transient=True):
        store.upsert(TENANT, chunks[s:e], vectors[s:e])
    took = time.perf_counter() - t0
    if isinstance(store, PgIndexStore):
        # What autovacuum does within a minute of a bulk load (the visibility map lets BM25
        # read postings from the covering index alone): measure the steady state.
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE index_chunks, index_terms, index_df"))
    return took


def over(retriever: Retriever, store: ChunkStore) -> Retriever:
    """The same retriever (embedder, chunking, fusion) over another store."""
    return Retriever(retriever.embedder, store, chunk_size=retriever.chunk_size,
                     chunk_overlap=retriever.chunk_overlap, params=retriever.params)  # fmt: skip


def cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def run(scale: int, console: Console) -> dict[str, Any]:
    queries = load_queries(DATA / "queries.jsonl")
    qrels = load_qrels(DATA / "qrels" / "train.tsv")
    sample = [q for q in queries.values() if q][:200]
    result: dict[str, Any] = {"machine": f"{cpu()}, {len(os.sched_getaffinity(0))} cores",
                              "corpus": "SciFact (train qrels)"}  # fmt: skip
    cluster = pgcluster.start(durable=True)
    try:
        with index_corpus(DATA / "corpus.jsonl", console) as session:
            files = session.retriever
            snap = session.snapshot
            chunks, vectors = list(snap.chunks), np.asarray(snap.vectors)
            engine = create_engine(cluster.create_database(), pool_pre_ping=True)
            pg = over(files, PgIndexStore(engine, files.embedder.dim))
            # Documents are never split across batches: the upsert replaces whole documents.
            write_s = write_batched(pg.store, chunks, vectors, console, "PostgreSQL")
            result["chunks"] = len(chunks)
            result["postgres_write_s"] = round(write_s, 1)
            result["quality"] = {name: quality(r, queries, qrels, console, name)
                                 for name, r in (("files", files), ("postgres", pg))}  # fmt: skip
            result["latency"] = latency({"files": files, "postgres": pg}, sample)
            if scale > 1:
                big, big_vectors = scaled(chunks, vectors, scale)
                with tempfile.TemporaryDirectory() as tmp:
                    big_files = IndexStore(Path(tmp), files.embedder.dim, hnsw_from=0)
                    t0 = time.perf_counter()
                    big_files.upsert(TENANT, big, big_vectors)
                    files_s = time.perf_counter() - t0
                    big_engine = create_engine(cluster.create_database(), pool_pre_ping=True)
                    big_pg = PgIndexStore(big_engine, files.embedder.dim)
                    pg_s = write_batched(big_pg, big, big_vectors, console, f"{len(big):,} chunks")
                    row: dict[str, Any] = {"chunks": len(big), "files_build_s": round(files_s, 1),
                                           "postgres_write_s": round(pg_s, 1)}  # fmt: skip
                    arms = {"files": over(files, big_files), "postgres": over(files, big_pg)}
                    row |= latency(arms, sample)
                    result["latency_scaled"] = row
    finally:
        cluster.stop()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="copies for the large index")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/index_backends.json")
    args = parser.parse_args(argv)
    get_settings()  # fail early on a bad environment
    console = Console(stderr=True)
    result = run(args.scale, console)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print_json(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
