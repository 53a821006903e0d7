"""The records retrieval hands to the rest of ragtrust."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypeAlias

from rag.core.types import RetrievalMode

Mode: TypeAlias = RetrievalMode


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    source: str = ""
    page_starts: tuple[int, ...] = ()  # character offset where each page begins (PDF)

    def page_at(self, offset: int) -> int | None:
        """1-based page holding character ``offset``; None for formats without pages."""
        if not self.page_starts:
            return None
        return sum(1 for start in self.page_starts if start <= offset) or 1


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    title: str
    text: str
    source: str = ""
    start: int = 0  # character offsets of the chunk in its document
    end: int = 0
    page: int | None = None

    @property
    def indexed_text(self) -> str:
        """What BM25 and the embedder read: the title carries what a document names once and
        its later chunks only allude to."""
        return f"{self.title}\n{self.text}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some documents and/or sources (empty = no restriction)."""

    document_ids: frozenset[str] = field(default_factory=frozenset)
    sources: frozenset[str] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.document_ids or self.sources)

    def admits(self, chunk: Chunk) -> bool:
        return (not self.document_ids or chunk.doc_id in self.document_ids) and (
            not self.sources or chunk.source in self.sources
        )


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
