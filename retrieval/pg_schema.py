"""The PostgreSQL index backend's tables, and their migrations (Alembic, in
``retrieval/pg_migrations`` with a version table of their own).

Apart from the service's main schema (``rag/migrations``) on purpose: those tables run on
SQLite and on any PostgreSQL, these need the pgvector extension, and only a deployment that
sets ``RAGTRUST_INDEX_BACKEND=postgres`` creates them.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent / "pg_migrations"
VERSION_TABLE = "ragtrust_index_version"
PG_LOCK = 0x72616775  # pg_advisory_xact_lock key of these migrations
DIM = 384  # all-MiniLM-L6-v2, the shipped embedder; an HNSW index needs a fixed dimension

metadata = MetaData()

chunks = Table(
    "index_chunks",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("chunk_id", Text, primary_key=True),
    Column("doc_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("page", Integer),
    Column("position", BigInteger, nullable=False),  # insertion order, as the files keep it
    Column("length", Integer, nullable=False),  # BM25 document length (tokens)
    Column("embedding", Vector(DIM), nullable=False),
    Index("ix_index_chunks_doc", "tenant", "doc_id"),
    Index(
        "ix_index_chunks_embedding",
        "embedding",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    ),
)

terms = Table(
    "index_terms",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("chunk_id", Text, primary_key=True),
    Column("term", Text, primary_key=True),
    Column("tf", Integer, nullable=False),
    Column("length", Integer, nullable=False),  # the chunk's, so scoring reads postings only
    ForeignKeyConstraint(
        ["tenant", "chunk_id"],
        ["index_chunks.tenant", "index_chunks.chunk_id"],
        ondelete="CASCADE",
    ),  # fmt: skip
    # A term's postings in one index range, without visiting the table (index-only scan).
    Index(
        "ix_index_terms_postings", "tenant", "term", postgresql_include=["chunk_id", "tf", "length"]
    ),  # fmt: skip
)

document_frequencies = Table(
    "index_df",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("term", Text, primary_key=True),
    Column("df", Integer, nullable=False),
)

stats = Table(
    "index_stats",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("chunks", BigInteger, nullable=False),
    Column("total_length", BigInteger, nullable=False),
    Column("next_position", BigInteger, nullable=False),
)


def config(connection: object | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or migrate the index tables (and the extension); one query when current."""
    head = ScriptDirectory.from_config(config()).get_current_head()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        if ctx.get_current_revision() == head:
            return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK})
        command.upgrade(config(conn), "head")
        conn.commit()
