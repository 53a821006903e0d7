"""The retrieval facade: ingest and delete documents, search a tenant's chunks, over whichever
backend holds them (``ChunkStore``: index files per tenant, or PostgreSQL with pgvector).
The ranking itself is ``retrieval.hybrid``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np

from rag.core.embedder import Embedder
from rag.core.errors import RagtrustError
from retrieval.chunking import split
from retrieval.fusion import Ranked
from retrieval.hybrid import HybridParams
from retrieval.quota import Quota
from retrieval.quota import check as check_quota
from retrieval.store import Snapshot, TenantLocks
from retrieval.types import Chunk, Document, Filters, Hit, Mode

EMBED_BATCH = 256
Admit = Callable[[Sequence[Chunk]], None]


class ChunkStore(Protocol):
    """Where a tenant's chunks, vectors and lexical index live. Every method takes the
    tenant and touches only its chunks; writes are all-or-nothing."""

    def chunks(self, tenant: str) -> list[Chunk]: ...
    def warm(self, tenant: str) -> None:
        """Load what the tenant's first search would (the file store's snapshot)."""
        ...

    def count(self, tenant: str) -> int: ...
    def document_ids(self, tenant: str) -> list[str]: ...
    def upsert(
        self, tenant: str, chunks: list[Chunk], vectors: np.ndarray, *, admit: Admit | None = None
    ) -> None:
        """Add chunks, replacing earlier ones of the same documents; ``admit`` is called
        with the tenant's current chunks under the store's write lock and may refuse the
        write by raising (the quota, checked where no other writer can race it)."""
        ...

    def delete(self, tenant: str, doc_ids: Iterable[str]) -> int: ...

    def search(
        self, tenant: str, query: str, embed: Callable[[], np.ndarray], k: int,
        params: HybridParams, *, mode: Mode, filters: Filters | None,
    ) -> list[Hit]:  # fmt: skip
        """The best ``k`` chunks for the query; ``embed`` gives its vector, called only by a
        mode that reads it and only once the tenant is known to have chunks."""
        ...


@dataclass
class IngestReport:
    documents: int = 0
    chunks: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # doc id -> why it was skipped
    chunks_per_document: dict[str, int] = field(default_factory=dict)


class Retriever:
    def __init__(
        self,
        embedder: Embedder,
        store: ChunkStore,
        *,
        chunk_size: int,
        chunk_overlap: int,
        params: HybridParams | None = None,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.params = params or HybridParams()
        self._upload_locks = TenantLocks()

    # -- writing --------------------------------------------------------------------------
    def ingest(
        self,
        tenant: str,
        documents: Sequence[Document],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        quota: Quota | None = None,
    ) -> IngestReport:
        """Chunk, embed and index; a bad document is reported and skipped, not fatal.

        ``on_progress(done, total)`` counts embedded chunks, the slow part. With a ``quota``,
        an upload that would take the tenant over it raises ``QuotaExceeded`` before any
        embedding, and uploads of one tenant index one at a time (so two cannot both fit
        alone and overflow together).
        """
        report = IngestReport()
        chunks = []
        latest = {doc.doc_id: doc for doc in documents}  # an id given twice: the last one wins
        for doc in latest.values():
            try:
                pieces = split(doc, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)
            except RagtrustError as exc:
                report.errors[doc.doc_id] = exc.message
                continue
            chunks += pieces
            report.documents += 1
            report.chunks_per_document[doc.doc_id] = len(pieces)
        if not chunks:
            return report
        with self._upload_locks(tenant) if quota else nullcontext():
            admit = None
            if quota is not None:
                # Before the embedding, to fail fast; again under the store's write lock,
                # where another replica's upload cannot pass the same check at once.
                check_quota(quota, self.chunks(tenant), chunks)
                admit = admitting(quota, chunks)
            self._embed_and_store(tenant, chunks, on_progress, admit)
        report.chunks = len(chunks)
        return report

    def _embed_and_store(
        self, tenant: str, chunks: list[Chunk], on_progress: Callable[[int, int], None] | None,
        admit: Admit | None = None,
    ) -> None:  # fmt: skip
        texts = [c.indexed_text for c in chunks]
        parts = []
        for start in range(0, len(texts), EMBED_BATCH):
            parts.append(self.embedder.encode(texts[start : start + EMBED_BATCH]))
            if on_progress:
                on_progress(min(start + EMBED_BATCH, len(texts)), len(texts))
        self.store.upsert(tenant, chunks, np.concatenate(parts), admit=admit)

    def delete(self, tenant: str, doc_ids: Sequence[str]) -> int:
        """Remove documents from every index; the number of chunks removed."""
        return self.store.delete(tenant, doc_ids)

    # -- reading --------------------------------------------------------------------------
    def chunks(self, tenant: str) -> list[Chunk]:
        return self.store.chunks(tenant)

    def warm(self, tenant: str) -> None:
        self.store.warm(tenant)

    def search(
        self,
        tenant: str,
        query: str,
        k: int,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
    ) -> list[Hit]:
        if not query.strip():
            return []
        embed = partial(self._embed_query, query)
        return self.store.search(tenant, query, embed, max(k, 1), self.params, mode=mode,
                                 filters=filters)[:k]  # fmt: skip

    def _embed_query(self, query: str) -> np.ndarray:
        return self.embedder.encode([query])[0]

    def rank(
        self,
        snap: Snapshot,
        query: str,
        depth: int,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
    ) -> Ranked:
        """Chunk positions in a file snapshot and scores, best first (the evaluations rank
        one snapshot many times)."""
        vector = None if mode == "bm25" else self._embed_query(query)
        return snap.rank(query, vector, depth, self.params, mode=mode, filters=filters)


def admitting(quota: Quota, new: Sequence[Chunk]) -> Admit:
    """The quota check of an upload of ``new``, for the store to run under its write lock."""
    return lambda current: check_quota(quota, current, new)
