from __future__ import annotations

from pathlib import Path

import pytest

from rag.core.embedder import Embedder
from retrieval.retriever import Retriever
from retrieval.store import IndexStore
from retrieval.types import Document

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


@pytest.fixture
def retriever(embedder: Embedder, tmp_path: Path) -> Retriever:
    return Retriever(embedder, IndexStore(tmp_path, embedder.dim), chunk_size=400, chunk_overlap=40)
