"""Per-tenant quotas: how many documents and chunks, and how many bytes of them, one tenant's
index may hold. Checked after chunking and before embedding (the slow part), against what
the index will hold once the upload replaces its documents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rag.core.errors import QuotaExceeded
from retrieval.types import Chunk


@dataclass(frozen=True)
class Quota:
    documents: int
    chunks: int
    bytes: int


def _size(chunks: Iterable[Chunk]) -> int:
    """What a chunk costs to keep: its text, and the title and source it repeats."""
    return sum(
        len(c.text.encode()) + len(c.title.encode()) + len(c.source.encode()) for c in chunks
    )


def check(quota: Quota, current: Sequence[Chunk], new: Sequence[Chunk]) -> None:
    """Raise ``QuotaExceeded`` if ``current`` with ``new`` (whose documents replace theirs in
    ``current``) is over ``quota``."""
    replaced = {c.doc_id for c in new}
    kept = [c for c in current if c.doc_id not in replaced]
    after = {
        "documents": len({c.doc_id for c in kept} | replaced),
        "chunks": len(kept) + len(new),
        "bytes": _size(kept) + _size(new),
    }
    for what, n in after.items():
        limit = getattr(quota, what)
        if n > limit:
            raise QuotaExceeded(
                f"this upload would bring the tenant to {n} {what} (quota {limit}); nothing "
                "was indexed: delete documents, or ask the operator to raise the quota "
                f"(RAGTRUST_MAX_TENANT_{what.upper()} or `ragtrust tenants set --max-{what}`)"
            )
