"""The quotes each audited answer rests on (redacted like the answer).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Records written before get "[]", which the chain hashes as the field's absence
    # (audit.records.ADDED_LATER): their hashes stay valid.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("audit_records")}
    if "quotes" not in columns:
        with op.batch_alter_table("audit_records") as batch:
            batch.add_column(sa.Column("quotes", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("quotes")
