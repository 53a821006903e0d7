"""Per-tenant dense index on disk: a FAISS inner-product index plus its chunk records.

Each write produces a new immutable version directory and then atomically swaps the
tenant's ``CURRENT`` pointer (``os.replace``), so a crash mid-write leaves the previous
version in use and readers never see a half-written index. Readers cache the loaded
version and reload when the pointer moves, so the CLI can ingest while the service runs.
Tenants are separate directories and separate FAISS indexes: a search cannot cross them.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from retrieval.types import Chunk, Hit

_POINTER = "CURRENT"
_KEEP_VERSIONS = 2


@dataclass
class _Loaded:
    version: str
    index: faiss.Index
    chunks: list[Chunk]


class FaissStore:
    def __init__(self, root: Path, dim: int) -> None:
        self.root = root
        self.dim = dim
        self._cache: dict[str, _Loaded] = {}
        self._write_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # -- reading --------------------------------------------------------------------------
    def search(self, tenant: str, query: np.ndarray, k: int) -> list[Hit]:
        loaded = self._load(tenant)
        if loaded is None or not loaded.chunks:
            return []
        scores, ids = loaded.index.search(query.reshape(1, -1).astype(np.float32), k)
        return [
            Hit(loaded.chunks[i], float(s))
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]

    def count(self, tenant: str) -> int:
        loaded = self._load(tenant)
        return len(loaded.chunks) if loaded else 0

    def document_ids(self, tenant: str) -> list[str]:
        loaded = self._load(tenant)
        return sorted({c.doc_id for c in loaded.chunks}) if loaded else []

    # -- writing --------------------------------------------------------------------------
    def upsert(self, tenant: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add chunks; any earlier chunks of the same documents are replaced."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        replaced = {c.doc_id for c in chunks}
        with self._write_lock(tenant):
            self._rewrite(tenant, keep=lambda c: c.doc_id not in replaced, add=(chunks, vectors))

    def delete(self, tenant: str, doc_ids: Iterable[str]) -> int:
        gone = set(doc_ids)
        with self._write_lock(tenant):
            before = self.count(tenant)
            self._rewrite(tenant, keep=lambda c: c.doc_id not in gone, add=None)
            return before - self.count(tenant)

    def _rewrite(
        self,
        tenant: str,
        keep: Callable[[Chunk], bool],
        add: tuple[list[Chunk], np.ndarray] | None,
    ) -> None:
        old = self._load(tenant)
        chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        if old is not None and old.chunks:
            mask = [keep(c) for c in old.chunks]
            chunks = [c for c, m in zip(old.chunks, mask, strict=True) if m]
            parts.append(old.index.reconstruct_n(0, old.index.ntotal)[np.asarray(mask)])
        if add is not None:
            chunks += add[0]
            parts.append(np.asarray(add[1], dtype=np.float32))
        vectors = np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)
        index = faiss.IndexFlatIP(self.dim)
        index.add(vectors)

        tenant_dir = self.root / tenant
        version = f"v{time.time_ns()}-{uuid.uuid4().hex[:6]}"
        tmp = tenant_dir / f".tmp-{version}"
        tmp.mkdir(parents=True)
        faiss.write_index(index, str(tmp / "dense.faiss"))
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        _fsync_dir(tmp)
        tmp.rename(tenant_dir / version)
        pointer_tmp = tenant_dir / f".{_POINTER}.tmp"
        pointer_tmp.write_text(version)
        os.replace(pointer_tmp, tenant_dir / _POINTER)
        self._cache[tenant] = _Loaded(version, index, chunks)
        # Keep the previous version too: a reader in another process may have just read the
        # old pointer and not yet opened its files.
        versions = sorted(p for p in tenant_dir.iterdir() if p.name.startswith("v"))
        for stale in versions[:-_KEEP_VERSIONS]:
            shutil.rmtree(stale, ignore_errors=True)

    # -- plumbing -------------------------------------------------------------------------
    def _load(self, tenant: str) -> _Loaded | None:
        pointer = self.root / tenant / _POINTER
        try:
            version = pointer.read_text().strip()
        except FileNotFoundError:
            return None
        cached = self._cache.get(tenant)
        if cached and cached.version == version:
            return cached
        vdir = self.root / tenant / version
        index = faiss.read_index(str(vdir / "dense.faiss"))
        with (vdir / "chunks.jsonl").open(encoding="utf-8") as f:
            chunks = [Chunk(**json.loads(line)) for line in f if line.strip()]
        loaded = _Loaded(version, index, chunks)
        self._cache[tenant] = loaded
        return loaded

    def _write_lock(self, tenant: str) -> threading.Lock:
        with self._guard:
            return self._write_locks.setdefault(tenant, threading.Lock())


def _fsync_dir(path: Path) -> None:
    for p in path.iterdir():
        with p.open("rb") as f:
            os.fsync(f.fileno())
