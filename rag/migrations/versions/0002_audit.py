"""The audit log: records, per-tenant chain heads, prune checkpoints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-numbers INTEGER primary keys; PostgreSQL gets BIGINT.
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "audit_records" not in existing:
        op.create_table(
            "audit_records",
            sa.Column("tenant", sa.String(length=63), nullable=False),
            sa.Column("seq", Seq, autoincrement=False, nullable=False),
            sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("key_id", sa.String(length=16), nullable=True),
            sa.Column("role", sa.String(length=16), nullable=True),
            sa.Column("route", sa.String(length=200), nullable=False),
            sa.Column("status", sa.String(length=8), nullable=False),
            sa.Column("http_status", sa.Integer(), nullable=False),
            sa.Column("error_code", sa.String(length=64), nullable=True),
            sa.Column("question", sa.Text(), nullable=False),
            sa.Column("answer", sa.Text(), nullable=False),
            sa.Column("document_ids", sa.Text(), nullable=False),
            sa.Column("chunk_ids", sa.Text(), nullable=False),
            sa.Column("model", sa.String(length=200), nullable=True),
            sa.Column("precision", sa.String(length=16), nullable=True),
            sa.Column("trust_score", sa.Float(), nullable=True),
            sa.Column("trust_flagged", sa.Boolean(), nullable=True),
            sa.Column("trust_preset", sa.String(length=16), nullable=True),
            sa.Column("pii_counts", sa.Text(), nullable=False),
            sa.Column("usage", sa.Text(), nullable=False),
            sa.Column("timings_ms", sa.Text(), nullable=False),
            sa.Column("cost", sa.Text(), nullable=False),
            sa.Column("prev_hash", sa.String(length=64), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("tenant", "seq"),
        )
        op.create_index(
            "ix_audit_records_tenant_timestamp", "audit_records", ["tenant", "timestamp"]
        )
    if "audit_heads" not in existing:
        op.create_table(
            "audit_heads",
            sa.Column("tenant", sa.String(length=63), nullable=False),
            sa.Column("seq", Seq, nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.Column("signature", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("tenant"),
        )
    if "audit_checkpoints" not in existing:
        op.create_table(
            "audit_checkpoints",
            sa.Column("id", Seq, autoincrement=True, nullable=False),
            sa.Column("tenant", sa.String(length=63), nullable=False),
            sa.Column("seq", Seq, nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.Column("count", Seq, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("signature", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_audit_checkpoints_tenant", "audit_checkpoints", ["tenant"])


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_tenant", table_name="audit_checkpoints")
    op.drop_index("ix_audit_records_tenant_timestamp", table_name="audit_records")
    for table in ("audit_checkpoints", "audit_heads", "audit_records"):
        op.drop_table(table)
