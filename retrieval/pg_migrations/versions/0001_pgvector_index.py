"""The index backend on PostgreSQL: chunks with their pgvector embeddings (HNSW, cosine),
BM25 postings and document frequencies, per-tenant totals.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIM = 384


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "index_chunks",
        sa.Column("tenant", sa.Text(), primary_key=True),
        sa.Column("chunk_id", sa.Text(), primary_key=True),
        sa.Column("doc_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("page", sa.Integer()),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("embedding", Vector(DIM), nullable=False),
    )
    op.create_index("ix_index_chunks_doc", "index_chunks", ["tenant", "doc_id"])
    op.create_index(
        "ix_index_chunks_embedding", "index_chunks", ["embedding"], postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )  # fmt: skip
    op.create_table(
        "index_terms",
        sa.Column("tenant", sa.Text(), primary_key=True),
        sa.Column("chunk_id", sa.Text(), primary_key=True),
        sa.Column("term", sa.Text(), primary_key=True),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant", "chunk_id"],
            ["index_chunks.tenant", "index_chunks.chunk_id"],
            ondelete="CASCADE",
        ),  # fmt: skip
    )
    op.create_index("ix_index_terms_postings", "index_terms", ["tenant", "term"],
                    postgresql_include=["chunk_id", "tf", "length"])  # fmt: skip
    op.create_table(
        "index_df",
        sa.Column("tenant", sa.Text(), primary_key=True),
        sa.Column("term", sa.Text(), primary_key=True),
        sa.Column("df", sa.Integer(), nullable=False),
    )
    op.create_table(
        "index_stats",
        sa.Column("tenant", sa.Text(), primary_key=True),
        sa.Column("chunks", sa.BigInteger(), nullable=False),
        sa.Column("total_length", sa.BigInteger(), nullable=False),
        sa.Column("next_position", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("index_df")
    op.drop_table("index_terms")
    op.drop_table("index_chunks")
    op.drop_table("index_stats")
