"""Alembic environment of the PostgreSQL index backend (``retrieval.pg_schema``)."""

from __future__ import annotations

from alembic import context

from retrieval.pg_schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
