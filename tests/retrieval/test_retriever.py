"""The retriever over the real embedding model, FAISS and bm25s indexes on disk."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from rag.core.embedder import Embedder
from rag.core.errors import InvalidRequest
from retrieval.retriever import Retriever
from retrieval.store import IndexStore
from retrieval.types import Document, Filters
from tests.retrieval.conftest import DOCS, another_store


def test_embeddings_are_normalized(embedder: Embedder) -> None:
    vecs = embedder.encode(["hello", "world"])
    assert vecs.shape == (2, embedder.dim)
    assert abs(float((vecs**2).sum(axis=1)[0]) - 1.0) < 1e-4


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_finds_the_relevant_document(retriever: Retriever, mode: str) -> None:
    retriever.ingest("acme", DOCS)
    hits = retriever.search("acme", "how long must a password be?", 3, mode=mode)  # type: ignore[arg-type]
    assert hits[0].chunk.doc_id == "security.md"
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))


def test_hybrid_matches_an_exact_term_the_embedding_misses(retriever: Retriever) -> None:
    docs = [*DOCS, Document("codes.md", "Codes", "Cost centre XK-4471 pays for training.")]
    retriever.ingest("acme", docs)
    assert retriever.search("acme", "XK-4471", 1)[0].chunk.doc_id == "codes.md"


def test_tenants_never_see_each_others_chunks(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS[:1])
    retriever.ingest("globex", DOCS[1:])
    for mode in ("hybrid", "dense", "bm25"):
        hits = retriever.search("acme", "passwords vacation hotels", 10, mode=mode)  # type: ignore[arg-type]
        assert {h.chunk.doc_id for h in hits} == {"travel.md"}
    assert retriever.store.document_ids("globex") == ["leave.md", "security.md"]
    assert retriever.search("initech", "anything", 5) == []


@pytest.mark.parametrize("name", ["demo/../acme", "../acme", "acme/", "", "Acme", "a" * 64])
def test_a_name_that_is_not_a_tenant_name_reaches_no_folder(
    retriever: Retriever, tmp_path: Path, name: str
) -> None:
    # in-process callers bypass the API's tenant check: the store refuses such names itself
    from retrieval.langchain import RagtrustRetriever

    retriever.ingest("acme", DOCS)
    (tmp_path / "demo").mkdir()
    with pytest.raises(InvalidRequest):
        retriever.search(name, "how long must a password be?", 3)
    with pytest.raises(InvalidRequest):
        retriever.ingest(name, DOCS[:1])
    with pytest.raises(InvalidRequest):
        retriever.delete(name, ["security.md"])
    with pytest.raises(InvalidRequest):
        RagtrustRetriever(retriever=retriever, tenant=name)
    assert retriever.store.count("acme") == len(retriever.chunks("acme"))
    if isinstance(retriever.store, IndexStore):
        assert sorted(p.name for p in tmp_path.iterdir()) == ["acme", "demo"]


def test_filters_by_document_and_source(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS)
    only = Filters(document_ids=frozenset({"leave.md"}))
    hits = retriever.search("acme", "how long must a password be?", 3, filters=only)
    assert [h.chunk.doc_id for h in hits] == ["leave.md"]
    policies = Filters(sources=frozenset({"policies/travel.md", "policies/security.md"}))
    hits = retriever.search("acme", "vacation days", 3, filters=policies)
    assert {h.chunk.doc_id for h in hits} <= {"travel.md", "security.md"}


def test_reingesting_a_document_replaces_it(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS)
    new = Document("travel.md", "Travel", "Hotels in London are capped at EUR 250.", "t.md")
    retriever.ingest("acme", [new])
    for mode in ("dense", "bm25"):
        travel = [
            h
            for h in retriever.search("acme", "London hotel cap", 10, mode=mode)  # type: ignore[arg-type]
            if h.chunk.doc_id == "travel.md"
        ]
        assert len(travel) == 1 and "250" in travel[0].chunk.text
    assert retriever.store.count("acme") == 3


def test_delete_removes_a_document_from_every_index(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS)
    assert retriever.delete("acme", ["leave.md"]) == 1
    assert retriever.delete("acme", ["leave.md"]) == 0
    for mode in ("hybrid", "dense", "bm25"):
        hits = retriever.search("acme", "vacation days per year", 5, mode=mode)  # type: ignore[arg-type]
        assert "leave.md" not in {h.chunk.doc_id for h in hits}


def test_an_empty_document_is_reported_and_the_rest_goes_in(retriever: Retriever) -> None:
    report = retriever.ingest("acme", [Document("empty.md", "Empty", "   "), *DOCS[:2]])
    assert report.documents == 2 and report.chunks == 2
    assert report.chunks_per_document == {"travel.md": 1, "security.md": 1}
    assert "empty.md" in report.errors


def test_another_process_sees_new_writes(retriever: Retriever, embedder: Embedder) -> None:
    """A second store on the same files or database: the service beside the CLI, or
    another replica."""
    reader = another_store(retriever.store, embedder.dim)
    retriever.ingest("acme", DOCS[:1])
    assert reader.count("acme") == 1
    retriever.ingest("acme", DOCS[1:])
    assert reader.count("acme") == 3
    hits = Retriever(embedder, reader, chunk_size=400, chunk_overlap=40).search(
        "acme", "how long must a password be?", 1, mode="bm25"
    )
    assert hits[0].chunk.doc_id == "security.md"


def test_a_crashed_write_leaves_the_previous_index(
    file_retriever: Retriever, embedder: Embedder, tmp_path: Path
) -> None:
    file_retriever.ingest("acme", DOCS)
    (tmp_path / "acme" / ".tmp-v999-dead").mkdir()  # what a crash mid-write leaves behind
    fresh = Retriever(
        embedder, IndexStore(tmp_path, embedder.dim), chunk_size=400, chunk_overlap=40
    )
    assert fresh.search("acme", "password length", 1)[0].chunk.doc_id == "security.md"
    fresh.ingest("acme", [Document("new.md", "New", "Something new.")])
    assert not list((tmp_path / "acme").glob(".tmp-*"))


def test_queries_keep_working_while_documents_are_written(retriever: Retriever) -> None:
    retriever.ingest("acme", DOCS)
    errors: list[BaseException] = []
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            try:
                assert retriever.search("acme", "password length", 1)[0].chunk.doc_id == (
                    "security.md"
                )
            except BaseException as exc:  # noqa: BLE001 - reported to the main thread
                errors.append(exc)
                return

    reader = threading.Thread(target=query)
    reader.start()
    for i in range(5):
        retriever.ingest("acme", [Document(f"extra-{i}.md", "Extra", f"Unrelated note {i}.")])
    stop.set()
    reader.join()
    assert not errors
    assert retriever.store.count("acme") == 8


def test_ingest_reports_embedding_progress_up_to_the_total(retriever: Retriever) -> None:
    calls: list[tuple[int, int]] = []
    report = retriever.ingest(
        "acme", DOCS, on_progress=lambda done, total: calls.append((done, total))
    )
    assert calls and calls[-1] == (report.chunks, report.chunks)


def test_langchain_retriever_returns_documents_with_metadata(retriever: Retriever) -> None:
    from langchain_core.retrievers import BaseRetriever

    from retrieval.langchain import RagtrustRetriever

    retriever.ingest("acme", DOCS)
    lc = RagtrustRetriever(retriever=retriever, tenant="acme", k=2)
    assert isinstance(lc, BaseRetriever)
    docs = lc.invoke("how many vacation days?")
    assert docs[0].metadata["document_id"] == "leave.md"
    assert "30 vacation days" in docs[0].page_content
    assert {"chunk_id", "score", "source", "page"} <= set(docs[0].metadata)
    other = RagtrustRetriever(retriever=retriever, tenant="globex")
    assert other.invoke("vacation") == []


def test_large_tenants_get_a_graph_index_with_the_same_answers(
    embedder: Embedder, tmp_path: Path
) -> None:
    import faiss

    docs = [*DOCS, *(Document(f"n{i}", "Note", f"Meeting note number {i}.") for i in range(40))]
    exact = Retriever(embedder, IndexStore(tmp_path / "a", embedder.dim), chunk_size=400,
                      chunk_overlap=40)  # fmt: skip
    graph = Retriever(embedder, IndexStore(tmp_path / "b", embedder.dim, hnsw_from=10),
                      chunk_size=400, chunk_overlap=40)  # fmt: skip
    for r in (exact, graph):
        r.ingest("acme", docs)
    snap = graph.store.snapshot("acme")
    assert snap is not None and isinstance(snap.dense, faiss.IndexHNSW)
    for mode in ("dense", "hybrid"):
        a = [h.chunk.chunk_id for h in exact.search("acme", "password length", 3, mode=mode)]  # type: ignore[arg-type]
        b = [h.chunk.chunk_id for h in graph.search("acme", "password length", 3, mode=mode)]  # type: ignore[arg-type]
        assert a == b


def test_an_index_from_before_bm25_still_loads_and_searches(
    file_retriever: Retriever, embedder: Embedder, tmp_path: Path
) -> None:
    file_retriever.ingest("acme", DOCS)
    vdir = next(p for p in (tmp_path / "acme").iterdir() if p.name.startswith("v"))
    (vdir / "vectors.npy").unlink()  # the layout of the first release: FAISS + chunks only
    shutil.rmtree(vdir / "bm25")
    old = Retriever(embedder, IndexStore(tmp_path, embedder.dim), chunk_size=400, chunk_overlap=40)
    for mode in ("hybrid", "bm25"):
        hits = old.search("acme", "password length", 1, mode=mode)  # type: ignore[arg-type]
        assert hits[0].chunk.doc_id == "security.md"
    old.ingest("acme", [Document("new.md", "New", "Something new.")])
    assert old.store.count("acme") == 4
