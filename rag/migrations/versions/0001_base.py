"""Tenants, their settings and privacy overrides, API keys.

The schema as ``create_all`` made it before migrations existed: a table that is already
there is adopted as it is, so databases of that era upgrade without being stamped by hand.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "tenants" not in existing:
        op.create_table(
            "tenants",
            sa.Column("name", sa.String(length=63), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )
    if "tenant_privacy" not in existing:
        op.create_table(
            "tenant_privacy",
            sa.Column("name", sa.String(length=63), nullable=False),
            sa.Column("policy", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )
    if "tenant_settings" not in existing:
        op.create_table(
            "tenant_settings",
            sa.Column("name", sa.String(length=63), nullable=False),
            sa.Column("settings", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )
    if "api_keys" not in existing:
        op.create_table(
            "api_keys",
            sa.Column("id", sa.String(length=16), nullable=False),
            sa.Column("tenant", sa.String(length=63), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("name", sa.String(length=100), nullable=False),
            sa.Column("key_hash", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_tenant", table_name="api_keys")
    for table in ("api_keys", "tenant_settings", "tenant_privacy", "tenants"):
        op.drop_table(table)
