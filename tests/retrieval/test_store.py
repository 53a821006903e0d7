"""The per-tenant FAISS store with the real packaged embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.embeddings import SentenceTransformerEmbedder
from retrieval.retriever import Retriever
from retrieval.store import FaissStore
from retrieval.types import Document

DOCS = [
    Document(
        "travel.md", "Travel", "Hotels in London are capped at EUR 220 per night.", "travel.md"
    ),
    Document(
        "security.md", "Security", "Passwords must be at least 14 characters long.", "security.md"
    ),
    Document("leave.md", "Leave", "Full-time employees get 30 vacation days per year.", "leave.md"),
]


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture
def retriever(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> Retriever:
    return Retriever(embedder, FaissStore(tmp_path, embedder.dim), chunk_size=400, chunk_overlap=40)


def test_embeddings_are_normalized(embedder: SentenceTransformerEmbedder) -> None:
    vecs = embedder.encode(["hello", "world"])
    assert vecs.shape == (2, embedder.dim)
    assert abs(float((vecs**2).sum(axis=1)[0]) - 1.0) < 1e-4


def test_search_finds_the_relevant_document(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS)
    hits = retriever.search("acme", "how long must a password be?", 2)
    assert hits[0].chunk.doc_id == "security.md"
    assert hits[0].score > hits[1].score


def test_tenants_never_see_each_others_chunks(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS[:1])
    retriever.ingest("globex", DOCS[1:])
    assert {h.chunk.doc_id for h in retriever.search("acme", "passwords vacation hotels", 10)} == {
        "travel.md"
    }
    assert retriever.store.document_ids("globex") == ["leave.md", "security.md"]
    assert retriever.search("initech", "anything", 5) == []


def test_reingesting_a_document_replaces_it(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS)
    retriever.ingest(
        "acme",
        [Document("travel.md", "Travel", "Hotels in London are capped at EUR 250.", "travel.md")],
    )
    travel = [
        h for h in retriever.search("acme", "London hotel cap", 10) if h.chunk.doc_id == "travel.md"
    ]
    assert len(travel) == 1 and "250" in travel[0].chunk.text
    assert retriever.store.count("acme") == 3


def test_delete_removes_a_document(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS)
    assert retriever.store.delete("acme", ["leave.md"]) == 1
    assert "leave.md" not in retriever.store.document_ids("acme")


def test_an_empty_document_is_reported_and_the_rest_goes_in(retriever: Retriever) -> None:
    report = retriever.ingest("acme", [Document("empty.md", "Empty", "   "), *DOCS[:2]])
    assert report.documents == 2 and report.chunks == 2
    assert "empty.md" in report.errors


def test_another_process_sees_new_writes(
    retriever: Retriever, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    reader = FaissStore(tmp_path, embedder.dim)  # a second store on the same files (the service)
    retriever.ingest("acme", DOCS[:1])
    assert reader.count("acme") == 1
    retriever.ingest("acme", DOCS[1:])
    assert reader.count("acme") == 3


def test_a_crashed_write_leaves_the_previous_index(
    retriever: Retriever, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    retriever.ingest("acme", DOCS)
    (tmp_path / "acme" / ".tmp-v999-dead").mkdir()  # what a crash mid-write leaves behind
    fresh = FaissStore(tmp_path, embedder.dim)
    assert fresh.count("acme") == 3


def test_ingest_reports_embedding_progress_up_to_the_total(retriever: Retriever) -> None:
    calls: list[tuple[int, int]] = []
    report = retriever.ingest(
        "acme", DOCS, on_progress=lambda done, total: calls.append((done, total))
    )
    assert calls and calls[-1] == (report.chunks, report.chunks)
