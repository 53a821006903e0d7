"""How many requests an audit record stands for: rate-limit refusals of one key in one window
are one record, not one row each under SQLite's write lock.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Records written before get 1, which the chain hashes as the field's absence
    # (audit.records.ADDED_LATER): their hashes stay valid.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("audit_records")}
    if "requests" not in columns:
        with op.batch_alter_table("audit_records") as batch:
            batch.add_column(
                sa.Column("requests", sa.Integer(), nullable=False, server_default="1")
            )


def downgrade() -> None:
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("requests")
