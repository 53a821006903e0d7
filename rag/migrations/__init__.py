"""Schema migrations of the whole database (Alembic), applied by ``rag.db.create_schema``.

Every process that opens the database calls ``upgrade``: a database already at the head costs
one query; otherwise one process migrates while the others wait on a lock (PostgreSQL: an
advisory lock; SQLite: the write lock), so a service and a CLI starting together never both
create a table. After changing a model, write the migration with

    .venv/bin/python -m rag.migrations revision --autogenerate -m "what changed"

and review it; ``tests/audit/test_migrations.py`` fails while models and migrations differ.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent
PG_LOCK = 0x72616774  # pg_advisory_xact_lock key of schema migrations ("ragt")


def import_tables() -> None:
    """The modules whose rows live on ``Base``, so that the schema (and Alembic) sees them."""
    import audit.records  # noqa: F401  (importing a table module adds its rows to Base)
    import rag.keys  # noqa: F401
    import rag.tenants  # noqa: F401


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration without an ini file: the scripts ship inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache
def head() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema. Tables created before migrations existed
    (``create_all``) are adopted: the first revisions create only what is missing."""
    with engine.connect() as conn:
        if current(conn) == head():
            return
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK})
        command.upgrade(config(conn), "head")
        conn.commit()
