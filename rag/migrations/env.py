"""Alembic environment: the target schema is ``rag.core.db.Base``'s metadata with every table
module imported. ``rag.migrations.upgrade`` passes an open connection that already holds the
migration lock and commits it; from the command line the URL comes from the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from rag.core.db import Base
from rag.migrations import import_tables

import_tables()


def run(connection: Connection) -> None:
    # render_as_batch: SQLite alters a table by copying it; autogenerate writes it that way.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    from rag.core.settings import get_settings

    with create_engine(get_settings().db_url).connect() as conn:
        run(conn)
        conn.commit()
