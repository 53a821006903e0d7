"""Audit chain anchors: a second copy of each tenant's head that only moves forward.

The head row alone can be put back from an older backup after the records past it were
deleted, or deleted with every record and checkpoint of its tenant; both verified. The
anchor is written with the head (and its ``pruned_to`` by prune), and triggers refuse to
delete it or move it back, so verify sees either. Anchors are backfilled from the existing
heads; the migration has no signing key, so those carry an empty signature (accepted by
verify, refused by the triggers in any later write) until the tenant's next append.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# What a write must not do to an existing anchor (OLD) with its new values (NEW).
_BACKWARDS = (
    "NEW.tenant <> OLD.tenant OR NEW.seq < OLD.seq"
    " OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash) OR NEW.pruned_to < OLD.pruned_to"
)
_SQLITE = [
    """CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
    BEGIN SELECT RAISE(ABORT, 'audit anchors cannot be deleted'); END""",
    f"""CREATE TRIGGER audit_anchors_forward_only BEFORE UPDATE ON audit_anchors
    WHEN NEW.signature = '' OR {_BACKWARDS}
    BEGIN SELECT RAISE(ABORT, 'an audit anchor only moves forward, signed'); END""",
    # INSERT OR REPLACE deletes the old row without firing the delete trigger (unless
    # recursive_triggers is on): an insert over an existing anchor is held to the same rule.
    """CREATE TRIGGER audit_anchors_insert_forward_only BEFORE INSERT ON audit_anchors
    WHEN NEW.signature = '' OR EXISTS (SELECT 1 FROM audit_anchors AS a
        WHERE a.tenant = NEW.tenant AND (NEW.seq < a.seq
            OR (NEW.seq = a.seq AND NEW.hash <> a.hash) OR NEW.pruned_to < a.pruned_to))
    BEGIN SELECT RAISE(ABORT, 'an audit anchor only moves forward, signed'); END""",
]
_POSTGRES = [
    f"""CREATE FUNCTION audit_anchors_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
            RAISE EXCEPTION 'audit anchors cannot be deleted';
        END IF;
        IF NEW.signature = '' OR (TG_OP = 'UPDATE' AND ({_BACKWARDS})) THEN
            RAISE EXCEPTION 'an audit anchor only moves forward, signed';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER audit_anchors_forward_only BEFORE INSERT OR UPDATE OR DELETE
    ON audit_anchors FOR EACH ROW EXECUTE FUNCTION audit_anchors_forward_only()""",
    """CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE
    ON audit_anchors FOR EACH STATEMENT EXECUTE FUNCTION audit_anchors_forward_only()""",
]


def upgrade() -> None:
    op.create_table(
        "audit_anchors",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("seq", Seq, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("pruned_to", Seq, nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("tenant"),
    )
    heads = sa.table("audit_heads", sa.column("tenant"), sa.column("seq"), sa.column("hash"))
    checkpoints = sa.table("audit_checkpoints", sa.column("tenant"), sa.column("seq"))
    columns = ["tenant", "seq", "hash", "pruned_to", "signature"]
    anchors = sa.table("audit_anchors", *(sa.column(c) for c in columns))
    pruned_to = (
        sa.select(sa.func.coalesce(sa.func.max(checkpoints.c.seq), 0))
        .where(checkpoints.c.tenant == heads.c.tenant)
        .scalar_subquery()
    )
    op.execute(
        anchors.insert().from_select(
            columns,
            sa.select(heads.c.tenant, heads.c.seq, heads.c.hash, pruned_to, sa.literal("")),
        )
    )
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_anchors")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_anchors_forward_only()")
