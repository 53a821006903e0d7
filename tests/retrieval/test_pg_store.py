"""What only the PostgreSQL store has: its BM25 is the file store's (the same ranking and
scores for the same chunks, bm25s in memory vs SQL over postings), the document frequencies
it keeps by delta stay what a fresh index of the same documents has after replacements and
deletions, and a write the database refuses leaves the previous rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from rag.core.embedder import Embedder
from rag.core.errors import IndexWriteFailed, QuotaExceeded
from retrieval.chunking import split
from retrieval.pg_store import PgIndexStore
from retrieval.quota import Quota
from retrieval.quota import check as check_quota
from retrieval.retriever import Retriever, admitting
from retrieval.store import IndexStore
from retrieval.types import Chunk, Document
from tests.audit.pgcluster import Cluster
from tests.retrieval.conftest import DOCS, another_store

EXTRA = [
    Document("remote.md", "Remote work", "Employees may work remotely two days per week; "
             "remote work abroad needs approval from HR and the employee's manager."),
    Document("expenses.md", "Expenses", "Expenses over EUR 50 need a receipt. Travel expenses "
             "are approved by the manager; hotel expenses follow the travel policy."),
]  # fmt: skip
QUERIES = ["who approves travel expenses", "remote work abroad", "password length",
           "hotel in London", "vacation days for employees", "receipt"]  # fmt: skip


@pytest.fixture
def pg_retriever(embedder: Embedder, postgres: Cluster) -> Iterator[Callable[[], Retriever]]:
    urls: list[str] = []

    def make() -> Retriever:
        urls.append(postgres.create_database())
        store = PgIndexStore(create_engine(urls[-1]), embedder.dim)
        return Retriever(embedder, store, chunk_size=400, chunk_overlap=40)

    yield make
    for url in urls:
        postgres.drop_database(url)


def _bm25(r: Retriever) -> list[list[tuple[str, float]]]:
    return [[(h.chunk.chunk_id, round(h.score, 5)) for h in r.search("acme", q, 10, mode="bm25")]
            for q in QUERIES]  # fmt: skip


def test_bm25_in_sql_ranks_and_scores_as_bm25s(
    embedder: Embedder, tmp_path: Path, pg_retriever: Callable[[], Retriever]
) -> None:
    files = Retriever(embedder, IndexStore(tmp_path, embedder.dim), chunk_size=400,
                      chunk_overlap=40)  # fmt: skip
    pg = pg_retriever()
    for r in (files, pg):
        r.ingest("acme", DOCS + EXTRA)
    assert _bm25(pg) == _bm25(files) and all(_bm25(pg))


def test_document_frequencies_follow_replacements_and_deletions(
    pg_retriever: Callable[[], Retriever],
) -> None:
    edited = pg_retriever()
    edited.ingest("acme", DOCS + EXTRA)
    edited.ingest("globex", EXTRA)  # another tenant's postings must not count
    edited.delete("acme", ["security.md"])
    changed = Document("expenses.md", "Expenses", "Receipts are needed for expenses over EUR 20.")
    edited.ingest("acme", [changed])
    fresh = pg_retriever()
    fresh.ingest("acme", [DOCS[0], DOCS[2], EXTRA[0], changed])
    assert _bm25(edited) == _bm25(fresh)


def test_a_failed_database_write_leaves_the_previous_rows(
    pg_retriever: Callable[[], Retriever], embedder: Embedder
) -> None:
    """The file store's counterpart: test_a_crashed_write_leaves_the_previous_index."""
    r = pg_retriever()
    r.ingest("acme", DOCS)
    wrong = np.zeros((1, embedder.dim + 1), np.float32)  # the database refuses the vector
    with pytest.raises(IndexWriteFailed):
        r.store.upsert("acme", [Chunk("x#0", "security.md", "S", "replaced")], wrong)
    hits = r.search("acme", "password length", 1)
    assert hits[0].chunk.text == DOCS[1].text and r.store.count("acme") == 3


def test_two_replicas_cannot_both_pass_a_quota_at_once(
    pg_retriever: Callable[[], Retriever], embedder: Embedder
) -> None:
    """Each replica checks the quota before embedding, where both uploads fit alone; the
    store checks again under the tenant's write lock, where only one of them still does."""
    a = pg_retriever()
    a.ingest("acme", DOCS)
    replica = another_store(a.store, embedder.dim)
    quota = Quota(documents=4, chunks=100, bytes=10**6)
    uploads = [split(doc, chunk_size=400, chunk_overlap=40) for doc in EXTRA]
    for new in uploads:
        check_quota(quota, a.chunks("acme"), new)  # both pass: neither is written yet
    first, second = uploads
    vectors = [embedder.encode([c.indexed_text for c in new]) for new in uploads]
    a.store.upsert("acme", first, vectors[0], admit=admitting(quota, first))
    with pytest.raises(QuotaExceeded):
        replica.upsert("acme", second, vectors[1], admit=admitting(quota, second))
    assert a.store.document_ids("acme") == sorted([d.doc_id for d in DOCS] + ["remote.md"])
