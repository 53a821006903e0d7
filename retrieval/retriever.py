"""The retrieval facade the answer pipeline uses: ingest documents, search a tenant's chunks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.errors import RagtrustError
from retrieval.embeddings import Embedder
from retrieval.ingest import split
from retrieval.store import FaissStore
from retrieval.types import Document, Hit

EMBED_BATCH = 256


@dataclass
class IngestReport:
    documents: int = 0
    chunks: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # doc id -> why it was skipped


class Retriever:
    def __init__(
        self, embedder: Embedder, store: FaissStore, *, chunk_size: int, chunk_overlap: int
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap

    def ingest(
        self,
        tenant: str,
        documents: Sequence[Document],
        *,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Chunk, embed and index; a bad document is reported and skipped, not fatal.

        ``on_progress(done, total)`` counts embedded chunks, the slow part.
        """
        report = IngestReport()
        chunks = []
        for doc in documents:
            try:
                chunks += split(doc, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)
                report.documents += 1
            except RagtrustError as exc:
                report.errors[doc.doc_id] = exc.message
        if not chunks:
            return report
        texts = [f"{c.title}\n{c.text}" for c in chunks]
        parts = []
        for start in range(0, len(texts), EMBED_BATCH):
            parts.append(self.embedder.encode(texts[start : start + EMBED_BATCH]))
            if on_progress:
                on_progress(min(start + EMBED_BATCH, len(texts)), len(texts))
        self.store.upsert(tenant, chunks, np.concatenate(parts))
        report.chunks = len(chunks)
        return report

    def search(self, tenant: str, query: str, k: int) -> list[Hit]:
        vector = self.embedder.encode([query])[0]
        return self.store.search(tenant, vector, k)
