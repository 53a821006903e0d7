"""``ragtrust bench retrieval``: ingestion throughput, quality and query latency.

One run, side by side on the same machine state: ingest the SciFact corpus through the real
retriever (timed), score all three modes on its qrels, time top-10 queries (query embedding
included) at SciFact's size (~10k chunks) and at 100k chunks, and compare the two dense
index kinds and the two embedding backends. The 100k index repeats the SciFact chunks ten
times with jittered vectors (texts unchanged): what a query costs depends on how many
vectors and postings it touches, which this reproduces, not on the text being new; embedding
100k real chunks would take this 2-core machine most of an hour.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import track

from rag.core.settings import Settings
from rag.core.types import RETRIEVAL_MODES, RetrievalMode
from retrieval.beir import TENANT, index_corpus, run_queries
from retrieval.build import build_retriever
from retrieval.embeddings import SentenceTransformerEmbedder
from retrieval.evaluate import load_qrels, load_queries
from retrieval.loaders import load_file
from retrieval.onnx_embedder import load_tokenizer
from retrieval.retriever import Retriever
from retrieval.store import IndexStore, Snapshot
from retrieval.types import Chunk


def latency(
    retriever: Retriever, snap: Snapshot, queries: Iterable[str], mode: RetrievalMode
) -> dict[str, float]:
    return timings(lambda q: retriever.rank(snap, q, 10, mode=mode), queries)


def timings(call: Callable[[str], object], queries: Iterable[str]) -> dict[str, float]:
    """p50 and p95 ms of ``call`` over the queries, one at a time."""
    return percentiles([timed(call, q) for q in queries])


def timed(call: Callable[[str], object], query: str) -> float:
    t0 = time.perf_counter()
    call(query)
    return (time.perf_counter() - t0) * 1000


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}  # fmt: skip


def scaled_store(snap: Snapshot, root: Path, copies: int, graph_from: int) -> IndexStore:
    """``copies`` x the snapshot's chunks, vectors jittered so the copies are not duplicates."""
    rng = np.random.default_rng(0)
    vectors = np.asarray(snap.vectors)
    chunks, parts = [], []
    for c in range(copies):
        chunks += [replace(ch, chunk_id=f"{ch.chunk_id}~{c}", doc_id=f"{ch.doc_id}~{c}")
                   for ch in snap.chunks]  # fmt: skip
        jitter = vectors + (rng.normal(0, 0.02, vectors.shape) if c else 0)
        parts.append((jitter / np.linalg.norm(jitter, axis=1, keepdims=True)).astype(np.float32))
    store = IndexStore(root, vectors.shape[1], hnsw_from=graph_from)
    store.upsert(TENANT, chunks, np.concatenate(parts))
    return store


def embed_speed(settings: Settings, texts: list[str]) -> dict[str, Any]:
    """chunks/s of both embedding backends on the same texts, and how close their vectors are."""
    onnx = build_retriever(settings).embedder
    torch = SentenceTransformerEmbedder()
    out: dict[str, Any] = {}
    vecs = {}
    for name, emb in (("onnx-int8", onnx), ("torch-fp32", torch)):
        emb.encode(texts[:8])  # warm up
        t0 = time.perf_counter()
        vecs[name] = emb.encode(texts)
        out[f"{name}_chunks_per_s"] = round(len(texts) / (time.perf_counter() - t0), 1)
    out["speedup"] = round(out["onnx-int8_chunks_per_s"] / out["torch-fp32_chunks_per_s"], 2)
    out["mean_cosine"] = round(float((vecs["onnx-int8"] * vecs["torch-fp32"]).sum(1).mean()), 4)
    return out


def ingest_floor(chunks: list[Chunk], corpus: Path, ingest_s: float) -> dict[str, Any]:
    """Why ingestion takes as long as it does: it embeds every chunk (title included, as
    ingest does), so its time is tokens / the model's token rate here. ``floor_s`` is the
    corpus's own tokens (each document once, no overlap, no repeated titles) at that rate:
    no chunking setting can ingest faster on this machine with this model."""
    tok = load_tokenizer()
    embedded = sum(len(e.ids) for e in tok.encode_batch([c.indexed_text for c in chunks]))
    tok.no_truncation()
    docs = [f"{d.title}\n{d.text}" for d in load_file(corpus)]
    own = sum(len(e.ids) for e in tok.encode_batch(docs))
    rate = embedded / ingest_s
    return {"tokens_embedded": embedded, "tokens_per_s": round(rate), "corpus_tokens": own,
            "floor_s": round(own / rate, 1)}  # fmt: skip


def run(settings: Settings, data: Path, console: Console, n_queries: int = 300) -> dict[str, Any]:
    queries = load_queries(data / "queries.jsonl")
    qrels = load_qrels(data / "qrels" / "train.tsv")
    result: dict[str, Any] = {"machine": f"{platform.machine()}, {_cores()} cores",
                              "corpus": str(data)}  # fmt: skip
    with index_corpus(data / "corpus.jsonl", console) as session:
        result["ingest"] = {
            "documents": session.documents, "chunks": session.chunks,
            "seconds": round(session.ingest_s, 1),
            "chunks_per_s": round(session.chunks / session.ingest_s, 1),
        }  # fmt: skip
        result["ingest"] |= ingest_floor(session.snapshot.chunks, data / "corpus.jsonl",
                                         session.ingest_s)  # fmt: skip
        result["quality"] = {}
        for mode in RETRIEVAL_MODES:
            _, summary = run_queries(session, queries, qrels, mode, console)
            result["quality"][mode] = {k: summary[k] for k in ("ndcg@10", "recall@100", "mrr@10")}
        sample = [q for q in list(queries.values()) if q][:n_queries]
        snap = session.snapshot
        result["latency"] = {f"{len(snap.chunks)}": {
            m: latency(session.retriever, snap, sample, m) for m in RETRIEVAL_MODES}}  # fmt: skip
        texts = [c.indexed_text for c in snap.chunks[:256]]
        result["embedding"] = embed_speed(settings, texts)
        with tempfile.TemporaryDirectory() as tmp:
            for kind, graph_from in (("hnsw", 0), ("exact", 10**9)):
                with console.status(f"building a 100k-chunk index ({kind}) ..."):
                    t0 = time.perf_counter()
                    store = scaled_store(snap, Path(tmp) / kind, 10, graph_from)
                    build_s = time.perf_counter() - t0
                big = store.snapshot(TENANT)
                assert big is not None
                retriever = replace_store(session.retriever, store)
                rows: dict[str, Any] = {"build_s": round(build_s, 1)}
                for m in RETRIEVAL_MODES:
                    shown = track(sample, console=console, description=f"{kind} {m}",
                                  transient=True)  # fmt: skip
                    rows[m] = latency(retriever, big, shown, m)
                result["latency"][f"{len(big.chunks)} ({kind})"] = rows
    return result


def replace_store(retriever: Retriever, store: IndexStore) -> Retriever:
    return Retriever(retriever.embedder, store, chunk_size=retriever.chunk_size,
                     chunk_overlap=retriever.chunk_overlap, params=retriever.params)  # fmt: skip


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))
