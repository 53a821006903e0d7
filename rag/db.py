"""The service's one relational database: tenants, API keys, tenant settings and the audit log.

SQLite (WAL) is the embedded default, PostgreSQL the scale-out choice, picked by
``RAGTRUST_DATABASE_URL``. Every table module declares its rows on ``Base``; ``create_schema``
brings any database to the newest schema through the Alembic migrations in ``rag/migrations``.
"""

from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def make_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite"):
        # WAL lets the CLI write while the service reads the same file.
        @event.listens_for(engine, "connect")
        def _wal(conn, _record):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=5000")

    create_schema(engine)
    return engine


def create_schema(engine: Engine) -> None:
    """Migrate the database to the newest schema (one query when it is already there)."""
    from rag import migrations

    migrations.import_tables()
    migrations.upgrade(engine)
