"""Per-tenant indexes on disk: FAISS dense vectors, a BM25 index and the chunk records,
written together as one immutable version.

Each write builds a new version directory and then atomically swaps the tenant's ``CURRENT``
pointer (``os.replace``), so a crash mid-write leaves the previous version in use and readers
never see a half-written index. Writers of one tenant are serialized across processes with
a file lock (the CLI can ingest while the service runs); readers keep the snapshot they
loaded and pick up a new version when the pointer moves. Tenants are separate directories
and separate indexes: a search cannot cross them.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.core.errors import IndexWriteFailed, StorageFull
from rag.core.tenant_names import validate_tenant_name
from retrieval.bm25 import Bm25Index, best
from retrieval.fusion import Ranked, top
from retrieval.hybrid import HybridParams, fuse
from retrieval.types import Chunk, Filters, Hit, Mode

_POINTER = "CURRENT"
_KEEP_VERSIONS = 2
# Exact search scans every vector: fine to ~50k chunks (a few ms); past that an HNSW graph
# answers in ~2 ms at 100k where the scan takes 10-50 ms on two cores. The exact vectors stay
# beside it (vectors.npy) for re-scoring candidates and for the next rewrite.
HNSW_FROM = 50_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 64, 128


@dataclass(frozen=True)
class Snapshot:
    """One tenant's indexes at one version; immutable, so a query can hold it while a
    writer publishes the next version."""

    version: str
    dense: faiss.Index
    vectors: np.ndarray  # (chunks, dim) float32, row i = chunk i
    bm25: Bm25Index
    chunks: list[Chunk]

    def mask(self, filters: Filters) -> np.ndarray:
        return np.fromiter((filters.admits(c) for c in self.chunks), bool, len(self.chunks))

    def dense_search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` chunks by cosine. A filtered search scores the allowed chunks exactly:
        a graph search with most of the graph filtered out would miss them."""
        if not self.chunks or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if mask is not None:
            allowed = np.flatnonzero(mask)
            return top(allowed, np.asarray(self.vectors[allowed]) @ query, k)
        scores, ids = self.dense.search(
            query.reshape(1, -1).astype(np.float32), min(k, len(self.chunks))
        )
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def rank(
        self,
        query: str,
        vector: np.ndarray | None,
        depth: int,
        params: HybridParams,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
    ) -> Ranked:
        """Chunk positions and scores, best first, at least ``depth`` deep where the index
        has that many matches; ``vector`` is the query's embedding (None for ``bm25``).
        Hybrid: the union of both candidate lists, each candidate scored by both."""
        mask = self.mask(filters) if filters else None
        n = max(depth, params.candidates)
        if mode == "bm25":
            return self.bm25.search(query, n, mask)
        assert vector is not None
        dense = self.dense_search(vector, n, mask)
        if mode == "dense":
            return dense
        lexical = self.bm25.scores(query, mask)
        cand = np.union1d(best(lexical, n)[0], dense[0])
        lex = np.zeros(len(cand), np.float32) if lexical is None else lexical[cand]
        return top(cand, fuse(lex, np.asarray(self.vectors[cand]) @ vector, params), n)


class IndexStore:
    def __init__(self, root: Path, dim: int, *, hnsw_from: int = HNSW_FROM) -> None:
        self.root = root
        self.dim = dim
        self.hnsw_from = hnsw_from
        self._cache: dict[str, Snapshot] = {}
        self._locks = TenantLocks()

    def _dir(self, tenant: str) -> Path:
        """The tenant's folder; a name that is not a valid tenant name (``"demo/../acme"``)
        is refused here too, since in-process callers reach the store without the API."""
        return self.root / validate_tenant_name(tenant)

    # -- reading --------------------------------------------------------------------------
    def snapshot(self, tenant: str) -> Snapshot | None:
        """The tenant's current indexes (None before its first ingest)."""
        pointer = self._dir(tenant) / _POINTER
        try:
            version = pointer.read_text().strip()
        except FileNotFoundError:
            return None
        cached = self._cache.get(tenant)
        if cached and cached.version == version:
            return cached
        vdir = self._dir(tenant) / version
        with (vdir / "chunks.jsonl").open(encoding="utf-8") as f:
            chunks = [Chunk(**json.loads(line)) for line in f if line.strip()]
        dense = faiss.read_index(str(vdir / "dense.faiss"))
        if isinstance(dense, faiss.IndexHNSW):
            dense.hnsw.efSearch = HNSW_EF_SEARCH
        if (vdir / "vectors.npy").exists():
            vectors = np.load(vdir / "vectors.npy", mmap_mode="r")
            bm25 = Bm25Index.load(vdir / "bm25")
        else:  # written before BM25 existed: rebuild what it lacks in memory
            vectors = dense.reconstruct_n(0, dense.ntotal)
            bm25 = Bm25Index.build([c.indexed_text for c in chunks])
        snap = Snapshot(version, dense, vectors, bm25, chunks)
        self._cache[tenant] = snap
        return snap

    def chunks(self, tenant: str) -> list[Chunk]:
        snap = self.snapshot(tenant)
        return snap.chunks if snap else []

    def count(self, tenant: str) -> int:
        return len(self.chunks(tenant))

    def warm(self, tenant: str) -> None:
        self.snapshot(tenant)

    def search(
        self, tenant: str, query: str, embed: Callable[[], np.ndarray], k: int,
        params: HybridParams, *, mode: Mode, filters: Filters | None,
    ) -> list[Hit]:  # fmt: skip
        snap = self.snapshot(tenant)
        if snap is None or not snap.chunks:
            return []
        vector = None if mode == "bm25" else embed()
        ids, scores = snap.rank(query, vector, k, params, mode=mode, filters=filters)
        return [Hit(snap.chunks[i], float(s)) for i, s in zip(ids[:k], scores[:k], strict=True)]

    def document_ids(self, tenant: str) -> list[str]:
        snap = self.snapshot(tenant)
        return sorted({c.doc_id for c in snap.chunks}) if snap else []

    # -- writing --------------------------------------------------------------------------
    def upsert(
        self, tenant: str, chunks: list[Chunk], vectors: np.ndarray, *,
        admit: Callable[[Sequence[Chunk]], None] | None = None,
    ) -> None:  # fmt: skip
        """Add chunks; any earlier chunks of the same documents are replaced."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        replaced = {c.doc_id for c in chunks}
        with self._writing(tenant):
            if admit is not None:
                admit(self.chunks(tenant))
            self._rewrite(tenant, keep=lambda c: c.doc_id not in replaced, add=(chunks, vectors))

    def delete(self, tenant: str, doc_ids: Iterable[str]) -> int:
        """Remove documents from every index; returns how many chunks went."""
        gone = set(doc_ids)
        with self._writing(tenant):
            before = self.count(tenant)
            if not any(c.doc_id in gone for c in self.chunks(tenant)):
                return 0
            self._rewrite(tenant, keep=lambda c: c.doc_id not in gone, add=None)
            return before - self.count(tenant)

    def _rewrite(
        self,
        tenant: str,
        keep: Callable[[Chunk], bool],
        add: tuple[list[Chunk], np.ndarray] | None,
    ) -> None:
        old = self.snapshot(tenant)
        chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        if old is not None and old.chunks:
            mask = np.fromiter((keep(c) for c in old.chunks), bool, len(old.chunks))
            chunks = [c for c, m in zip(old.chunks, mask, strict=True) if m]
            parts.append(np.asarray(old.vectors[mask]))
        if add is not None:
            chunks += add[0]
            parts.append(np.asarray(add[1], dtype=np.float32))
        vectors = np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)
        dense = _dense_index(vectors, graph_from=self.hnsw_from)
        bm25 = Bm25Index.build([c.indexed_text for c in chunks])

        tenant_dir = self._dir(tenant)
        version = f"v{time.time_ns()}-{uuid.uuid4().hex[:6]}"
        tmp = tenant_dir / f".tmp-{version}"
        try:
            tmp.mkdir(parents=True)
            faiss.write_index(dense, str(tmp / "dense.faiss"))
            np.save(tmp / "vectors.npy", vectors)
            bm25.save(tmp / "bm25")
            with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
                for c in chunks:
                    f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
            _fsync_tree(tmp)
            tmp.rename(tenant_dir / version)
            pointer_tmp = tenant_dir / f".{_POINTER}.tmp"
            pointer_tmp.write_text(version)
            os.replace(pointer_tmp, tenant_dir / _POINTER)
        except (OSError, RuntimeError) as exc:  # faiss reports a failed write as RuntimeError
            # The pointer still names the previous version, which stays complete and in use.
            shutil.rmtree(tmp, ignore_errors=True)
            full = getattr(exc, "errno", None) == errno.ENOSPC or "No space left" in str(exc)
            error = StorageFull if full else IndexWriteFailed
            raise error(
                "the index could not be written"
                + (": the disk is full" if full else "")
                + "; nothing of this request was indexed, the previous index is still in use"
            ) from exc
        self._cache[tenant] = Snapshot(version, dense, vectors, bm25, chunks)
        # Keep the previous version too: a reader in another process may have just read the
        # old pointer and not yet opened its files.
        versions = sorted(p for p in tenant_dir.iterdir() if p.name.startswith("v"))
        for stale in versions[:-_KEEP_VERSIONS]:
            shutil.rmtree(stale, ignore_errors=True)
        for leftover in tenant_dir.glob(".tmp-*"):  # from a writer that crashed
            if leftover != tmp:
                shutil.rmtree(leftover, ignore_errors=True)

    @contextmanager
    def _writing(self, tenant: str) -> Iterator[None]:
        tenant_dir = self._dir(tenant)
        tenant_dir.mkdir(parents=True, exist_ok=True)
        with self._locks(tenant), (tenant_dir / ".lock").open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


class TenantLocks:
    """One in-process lock per tenant, made on first use."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, tenant: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant, threading.Lock())


def _dense_index(vectors: np.ndarray, graph_from: int) -> faiss.Index:
    dim = vectors.shape[1]
    index: faiss.Index
    if len(vectors) < graph_from:
        index = faiss.IndexFlatIP(dim)
    else:
        graph = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.hnsw.efSearch = HNSW_EF_SEARCH
        index = graph
    index.add(vectors)
    return index


def _fsync_tree(path: Path) -> None:
    for p in path.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())
