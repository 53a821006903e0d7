"""Per-tenant indexes in PostgreSQL, so that every replica searches the same chunks: rows of
chunks with their pgvector embeddings (HNSW, cosine) and BM25 computed in SQL from term
statistics kept in tables, with the file store's tokenizer, parameters and fusion.

BM25 from term statistics rather than PostgreSQL's full-text ``ts_rank``: ts_rank is not
BM25 (no document frequencies, no length saturation), and the backends must rank alike.
A write is one transaction under a per-tenant advisory lock (a replaced or deleted document
is all or nothing, visible to every replica at its commit); every statement names the
tenant, so one tenant's query never reads another's rows.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from rag.core.errors import IndexWriteFailed
from rag.core.tenant_names import validate_tenant_name
from retrieval.bm25 import K1, B, terms
from retrieval.fusion import top
from retrieval.hybrid import HybridParams, fuse
from retrieval.pg_schema import DIM, upgrade
from retrieval.types import Chunk, Filters, Hit, Mode

# Below this many chunks a tenant's dense search is an exact scan: the shared HNSW graph
# holds every tenant's vectors, and walking it for a small tenant filters out nearly everything
# it visits (an iterative scan stops after hnsw.max_scan_tuples). Exact costs ~3 us a chunk
# here (35 ms at 10.7k, against 5.6 ms for the graph at 107k), hence a lower bar than the
# file store's 50k.
EXACT_BELOW = 2_000
EF_SEARCH = 128
ANALYZE_FROM = 1_000  # chunks in one write
COLUMNS = 'chunk_id, doc_id, title, text, source, start, "end", page'


def _vector(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(v, np.float32)) + "]"


def _lock_key(tenant: str) -> int:
    return int.from_bytes(hashlib.sha256(f"ragtrust-index:{tenant}".encode()).digest()[:8],
                          "big", signed=True)  # fmt: skip


def _filter(filters: Filters | None, alias: str = "") -> tuple[str, dict[str, Any]]:
    if not filters:
        return "", {}
    p = f"{alias}." if alias else ""
    sql, args = "", {}
    if filters.document_ids:
        sql += f" AND {p}doc_id = ANY(:f_docs)"
        args["f_docs"] = sorted(filters.document_ids)
    if filters.sources:
        sql += f" AND {p}source = ANY(:f_sources)"
        args["f_sources"] = sorted(filters.sources)
    return sql, args


class PgIndexStore:
    def __init__(self, engine: Engine, dim: int) -> None:
        if dim != DIM:
            raise ValueError(f"the postgres index backend holds {DIM}-d vectors, not {dim}")
        if engine.dialect.name != "postgresql":
            raise ValueError("RAGTRUST_INDEX_BACKEND=postgres needs a PostgreSQL DATABASE_URL")
        self.engine = engine
        self.dim = dim
        upgrade(engine)

    # -- reading --------------------------------------------------------------------------
    def chunks(self, tenant: str) -> list[Chunk]:
        tenant = validate_tenant_name(tenant)
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT {COLUMNS} FROM index_chunks WHERE tenant = :t "
                                     "ORDER BY position"), {"t": tenant})  # fmt: skip
            return [Chunk(*row) for row in rows]

    def warm(self, tenant: str) -> None:
        """Nothing to load: the database serves each search."""

    def count(self, tenant: str) -> int:
        tenant = validate_tenant_name(tenant)
        with self.engine.connect() as conn:
            return self._totals(conn, tenant)[0]

    def document_ids(self, tenant: str) -> list[str]:
        tenant = validate_tenant_name(tenant)
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT DISTINCT doc_id FROM index_chunks WHERE tenant = :t "
                                     "ORDER BY doc_id"), {"t": tenant})  # fmt: skip
            return [r[0] for r in rows]

    @staticmethod
    def _totals(conn: Connection, tenant: str) -> tuple[int, float]:
        row = conn.execute(text("SELECT chunks, total_length FROM index_stats WHERE tenant = :t"),
                           {"t": tenant}).first()  # fmt: skip
        return (0, 0.0) if row is None else (int(row[0]), float(row[1]))

    # -- searching ------------------------------------------------------------------------
    def search(
        self, tenant: str, query: str, embed: Callable[[], np.ndarray], k: int,
        params: HybridParams, *, mode: Mode, filters: Filters | None,
    ) -> list[Hit]:  # fmt: skip
        tenant = validate_tenant_name(tenant)
        n = max(k, params.candidates)
        # Embedded before a connection is taken from the pool, not while holding one.
        vector = None if mode == "bm25" else embed()
        with self.engine.connect() as conn, conn.begin():
            total, length = self._totals(conn, tenant)
            if not total:
                return []
            if mode == "bm25":
                ranked = _Bm25(conn, tenant, query, total, length).best(n, filters)
            else:
                assert vector is not None
                dense = self._dense(conn, tenant, vector, n, total, filters)
                if mode == "dense":
                    ranked = dense
                else:
                    bm25 = _Bm25(conn, tenant, query, total, length)
                    lex = bm25.best(n, filters)
                    cand = sorted(set(lex) | set(dense))
                    lex |= bm25.scores([c for c in dense if c not in lex])
                    cos = dense | self._cosines(conn, tenant, vector,
                                                [c for c in lex if c not in dense])  # fmt: skip
                    fused = fuse(np.array([lex.get(c, 0.0) for c in cand], np.float32),
                                 np.array([cos[c] for c in cand], np.float32), params)  # fmt: skip
                    ids, scores = top(np.arange(len(cand)), fused, n)
                    ranked = {cand[i]: float(s) for i, s in zip(ids, scores, strict=True)}
            best = sorted(ranked.items(), key=lambda kv: -kv[1])[:k]
            rows = self._rows(conn, tenant, [c for c, _ in best])
        return [Hit(rows[c], s) for c, s in best]

    def _dense(
        self, conn: Connection, tenant: str, vector: np.ndarray, n: int, total: int,
        filters: Filters | None,
    ) -> dict[str, float]:  # fmt: skip
        """Best ``n`` by cosine: HNSW for a large tenant, an exact scan for a small one or a
        filtered search (``+ 0`` keeps the planner off the graph)."""
        where, args = _filter(filters)
        exact = total < EXACT_BELOW or bool(filters)
        order = "(embedding <=> :q) + 0" if exact else "embedding <=> :q"
        if not exact:
            conn.execute(text(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}"))
            conn.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
        rows = conn.execute(
            text(f"SELECT chunk_id, 1 - (embedding <=> :q) FROM index_chunks "
                 f"WHERE tenant = :t{where} ORDER BY {order} LIMIT :n"),
            {"t": tenant, "q": _vector(vector), "n": n, **args},
        )  # fmt: skip
        return {r[0]: float(r[1]) for r in rows}

    def _cosines(
        self, conn: Connection, tenant: str, vector: np.ndarray, ids: Sequence[str]
    ) -> dict[str, float]:
        if not ids:
            return {}
        rows = conn.execute(
            text("SELECT chunk_id, 1 - (embedding <=> :q) FROM index_chunks "
                 "WHERE tenant = :t AND chunk_id = ANY(:ids)"),
            {"t": tenant, "q": _vector(vector), "ids": list(ids)},
        )  # fmt: skip
        return {r[0]: float(r[1]) for r in rows}

    def _rows(self, conn: Connection, tenant: str, ids: Sequence[str]) -> dict[str, Chunk]:
        rows = conn.execute(
            text(f"SELECT {COLUMNS} FROM index_chunks WHERE tenant = :t AND chunk_id = ANY(:ids)"),
            {"t": tenant, "ids": list(ids)},
        )
        return {r[0]: Chunk(*r) for r in rows}

    # -- writing --------------------------------------------------------------------------
    def upsert(
        self, tenant: str, chunks: list[Chunk], vectors: np.ndarray, *,
        admit: Callable[[Sequence[Chunk]], None] | None = None,
    ) -> None:  # fmt: skip
        """Add chunks; any earlier chunks of the same documents are replaced, in one
        transaction."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        tenant = validate_tenant_name(tenant)
        with self._writing(tenant) as conn:
            if admit is not None:
                current = conn.execute(text(f"SELECT {COLUMNS} FROM index_chunks "
                                            "WHERE tenant = :t"), {"t": tenant})  # fmt: skip
                admit([Chunk(*row) for row in current])
            self._remove(conn, tenant, {c.doc_id for c in chunks})
            start = conn.execute(text("SELECT next_position FROM index_stats WHERE tenant = :t"),
                                 {"t": tenant}).scalar() or 0  # fmt: skip
            rows, postings = [], []
            added: Counter[str] = Counter()  # term -> chunks that have it
            for i, (c, v) in enumerate(zip(chunks, vectors, strict=True)):
                counted = Counter(terms(c.indexed_text))
                rows.append({
                    "t": tenant, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title,
                    "text": c.text, "source": c.source, "start": c.start, "end": c.end,
                    "page": c.page, "position": start + i, "length": sum(counted.values()),
                    "embedding": _vector(v),
                })  # fmt: skip
                size = rows[-1]["length"]
                postings += [{"t": tenant, "term": w, "chunk_id": c.chunk_id, "tf": tf,
                              "length": size} for w, tf in counted.items()]  # fmt: skip
                added.update(counted.keys())
            if rows:
                conn.execute(text(
                    'INSERT INTO index_chunks (tenant, chunk_id, doc_id, title, text, source, '
                    'start, "end", page, position, length, embedding) VALUES (:t, :chunk_id, '
                    ':doc_id, :title, :text, :source, :start, :end, :page, :position, :length, '
                    'CAST(:embedding AS vector))'), rows)  # fmt: skip
            if postings:
                conn.execute(text(
                    "INSERT INTO index_terms (tenant, term, chunk_id, tf, length) "
                    "VALUES (:t, :term, :chunk_id, :tf, :length)"), postings)  # fmt: skip
            self._add_df(conn, tenant, added)
            self._recount(conn, tenant, start + len(rows))
            if len(rows) >= ANALYZE_FROM:
                # Fresh statistics now, not at autovacuum's next round: without them the
                # planner sorts every row by distance instead of walking the HNSW graph.
                conn.execute(text("ANALYZE index_chunks, index_terms"))

    def delete(self, tenant: str, doc_ids: Iterable[str]) -> int:
        """Remove documents from every index; returns how many chunks went."""
        tenant = validate_tenant_name(tenant)
        with self._writing(tenant) as conn:
            gone = self._remove(conn, tenant, set(doc_ids))
            if gone:
                self._recount(conn, tenant, None)
            return gone

    @contextmanager
    def _writing(self, tenant: str) -> Iterator[Connection]:
        """A transaction holding the tenant's write lock. A database error is the file
        store's IndexWriteFailed: nothing of the request was written, the old rows stay."""
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(tenant)})
                yield conn
        except SQLAlchemyError as exc:
            message = "the index could not be written; nothing of this request was indexed"
            raise IndexWriteFailed(message + ", the previous index is still in use") from exc

    @classmethod
    def _remove(cls, conn: Connection, tenant: str, doc_ids: set[str]) -> int:
        """Delete the documents' chunks (their postings go with them) and take their terms
        out of the document frequencies."""
        if not doc_ids:
            return 0
        args = {"t": tenant, "d": sorted(doc_ids)}
        gone = conn.execute(text(
            "SELECT p.term, count(*) FROM index_terms p JOIN index_chunks c ON c.tenant = p.tenant "
            "AND c.chunk_id = p.chunk_id WHERE c.tenant = :t AND c.doc_id = ANY(:d) GROUP BY p.term"
        ), args)  # fmt: skip
        cls._add_df(conn, tenant, Counter({term: -n for term, n in gone}))
        done = conn.execute(text("DELETE FROM index_chunks WHERE tenant = :t AND doc_id = ANY(:d)"),
                            args)  # fmt: skip
        return int(done.rowcount or 0)

    @staticmethod
    def _add_df(conn: Connection, tenant: str, delta: Counter[str]) -> None:
        if not delta:
            return
        words = sorted(delta)
        conn.execute(text(
            "INSERT INTO index_df (tenant, term, df) SELECT :t, term, n FROM "
            "unnest(CAST(:terms AS text[]), CAST(:n AS int[])) AS d(term, n) "
            "ON CONFLICT (tenant, term) DO UPDATE SET df = index_df.df + excluded.df"
        ), {"t": tenant, "terms": words, "n": [delta[w] for w in words]})  # fmt: skip
        conn.execute(text("DELETE FROM index_df WHERE tenant = :t AND df <= 0"), {"t": tenant})

    @staticmethod
    def _recount(conn: Connection, tenant: str, next_position: int | None) -> None:
        conn.execute(text(
            "INSERT INTO index_stats (tenant, chunks, total_length, next_position) "
            "SELECT :t, count(*), coalesce(sum(length), 0), coalesce(CAST(:next AS bigint), 0) "
            "FROM index_chunks WHERE tenant = :t "
            "ON CONFLICT (tenant) DO UPDATE SET chunks = excluded.chunks, "
            "total_length = excluded.total_length, next_position = "
            "greatest(index_stats.next_position, excluded.next_position)"
        ), {"t": tenant, "next": next_position})  # fmt: skip


class _Bm25:
    """BM25 (bm25s' Lucene variant: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf saturated
    by k1 and length-normalized by b) of the query's terms: document frequencies from their
    table, then one pass over the query terms' postings."""

    def __init__(
        self, conn: Connection, tenant: str, query: str, total: int, total_length: float
    ) -> None:
        self.conn, self.tenant = conn, tenant
        self.avg = max(total_length / total, 1e-9)
        q_terms = Counter(terms(query))
        found = conn.execute(
            text("SELECT term, df FROM index_df WHERE tenant = :t AND term = ANY(:terms)"),
            {"t": tenant, "terms": sorted(q_terms)},
        )
        self.weights = {term: q_terms[term] * math.log(1 + (total - df + 0.5) / (df + 0.5))
                        for term, df in found}  # fmt: skip

    def _run(self, where: str, limit: str, args: dict[str, Any]) -> dict[str, float]:
        if not self.weights:
            return {}
        words = sorted(self.weights)
        rows = self.conn.execute(text(f"""
            SELECT p.chunk_id, sum(q.w * p.tf / (p.tf + :k1 * (1 - :b + :b * p.length / :avg)))
                   AS score
            FROM index_terms p
                 JOIN unnest(CAST(:terms AS text[]), CAST(:w AS float8[])) AS q(term, w)
                 USING (term)
            WHERE p.tenant = :t{where}
            GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id {limit}"""),
            {"t": self.tenant, "terms": words, "w": [self.weights[w] for w in words],
             "k1": K1, "b": B, "avg": self.avg, **args},
        )  # fmt: skip
        return {r[0]: float(r[1]) for r in rows}

    def best(self, n: int, filters: Filters | None) -> dict[str, float]:
        where, args = _filter(filters)
        if where:
            where = (
                f" AND p.chunk_id IN (SELECT chunk_id FROM index_chunks WHERE tenant = :t{where})"
            )
        return self._run(where, "LIMIT :limit", {**args, "limit": n})

    def scores(self, ids: Sequence[str]) -> dict[str, float]:
        if not ids:
            return {}
        return self._run(" AND p.chunk_id = ANY(:ids)", "", {"ids": list(ids)})
