"""Running a BEIR collection through the real retriever: index the corpus into a
temporary tenant (its own temporary index folder, never a real tenant's), then rank every
query. Shared by ``ragtrust eval retrieval`` and ``bench/retrieval.py``."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from rag.core.settings import get_settings
from retrieval.evaluate import Qrels, QueryResult, collapse, evaluate, summary
from retrieval.loaders import load_file
from retrieval.retriever import Retriever
from retrieval.store import IndexStore, Snapshot
from retrieval.types import Mode

TENANT = "eval"


@dataclass
class Session:
    retriever: Retriever
    snapshot: Snapshot
    ingest_s: float
    documents: int
    chunks: int


@contextmanager
def index_corpus(corpus: Path, console: Console) -> Iterator[Session]:
    from retrieval.build import build_retriever

    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="ragtrust-eval-") as tmp:
        settings = settings.model_copy(update={"data_dir": Path(tmp)})
        with console.status("loading the embedding model ..."):
            retriever = build_retriever(settings)
            docs = load_file(corpus)
        t0 = time.perf_counter()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"indexing {len(docs)} documents", total=None)
            report = retriever.ingest(
                TENANT, docs,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )  # fmt: skip
        ingest_s = time.perf_counter() - t0
        for doc_id, why in list(report.errors.items())[:5]:
            console.print(f"[yellow]skipped[/yellow] {doc_id}: {why}")
        assert isinstance(retriever.store, IndexStore)  # the evaluations index into files
        snap = retriever.store.snapshot(TENANT)
        assert snap is not None
        console.print(f"indexed {report.documents} documents, {report.chunks} chunks "
                      f"in {ingest_s:.1f} s")  # fmt: skip
        yield Session(retriever, snap, ingest_s, report.documents, report.chunks)


def run_queries(
    session: Session, queries: dict[str, str], qrels: Qrels, mode: Mode, console: Console
) -> tuple[list[QueryResult], dict[str, Any]]:
    snap = session.snapshot
    latencies: list[float] = []

    def rank(text: str) -> tuple[list[str], list[float]]:
        t0 = time.perf_counter()
        ranked = session.retriever.rank(snap, text, 400, mode=mode)  # ~100 documents
        latencies.append(time.perf_counter() - t0)
        return collapse(ranked, lambda i: snap.chunks[i].doc_id, 100)

    todo = [q for q in qrels if q in queries]
    results = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{mode} queries", total=len(todo))
        for r in evaluate(queries, qrels, rank):
            results.append(r)
            progress.advance(task)
    result: dict[str, Any] = summary(results, mode)
    result.update(
        documents=session.documents,
        chunks=session.chunks,
        ingest_s=round(session.ingest_s, 1),
        query_ms_p50=round(1000 * sorted(latencies)[len(latencies) // 2], 2) if latencies else None,
    )
    return results, result
