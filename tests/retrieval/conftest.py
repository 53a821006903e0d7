"""The retrieval tests run on both index backends: files in a temporary folder, and
PostgreSQL with pgvector in a fresh database of the session's throwaway server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from rag.core.embedder import Embedder
from retrieval.pg_store import PgIndexStore
from retrieval.retriever import ChunkStore, Retriever
from retrieval.store import IndexStore
from retrieval.types import Document
from tests.audit.pgcluster import Cluster

DOCS = [
    Document(
        "travel.md",
        "Travel",
        "Hotels in London are capped at EUR 220 per night.",
        "policies/travel.md",
    ),  # fmt: skip
    Document(
        "security.md",
        "Security",
        "Passwords must be at least 14 characters long.",
        "policies/security.md",
    ),  # fmt: skip
    Document(
        "leave.md", "Leave", "Full-time employees get 30 vacation days per year.", "hr/leave.md"
    ),  # fmt: skip
]


@pytest.fixture(params=["files", "postgres"])
def store(
    request: pytest.FixtureRequest, embedder: Embedder, tmp_path: Path
) -> Iterator[ChunkStore]:
    if request.param == "files":
        yield IndexStore(tmp_path, embedder.dim)
        return
    cluster: Cluster = request.getfixturevalue("postgres")
    url = cluster.create_database()
    engine = create_engine(url)
    yield PgIndexStore(engine, embedder.dim)
    engine.dispose()
    cluster.drop_database(url)


@pytest.fixture
def retriever(embedder: Embedder, store: ChunkStore) -> Retriever:
    return Retriever(embedder, store, chunk_size=400, chunk_overlap=40)


@pytest.fixture
def file_retriever(embedder: Embedder, tmp_path: Path) -> Retriever:
    """For what only the file store has (versions on disk, their layouts)."""
    return Retriever(embedder, IndexStore(tmp_path, embedder.dim), chunk_size=400, chunk_overlap=40)


def another_store(store: ChunkStore, dim: int) -> ChunkStore:
    """A second store on the same files or database (another process, another replica)."""
    if isinstance(store, IndexStore):
        return IndexStore(store.root, dim)
    assert isinstance(store, PgIndexStore)
    return PgIndexStore(create_engine(store.engine.url), dim)
