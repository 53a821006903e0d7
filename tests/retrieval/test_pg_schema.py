"""The PostgreSQL index backend's migrations: they create the extension and exactly the
tables ``retrieval.pg_schema`` declares, and a second upgrade (another replica starting) is
a no-op."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from retrieval import pg_schema
from tests.audit.pgcluster import Cluster


def test_migrations_create_the_declared_schema_once(postgres: Cluster) -> None:
    url = postgres.create_database()
    engine = create_engine(url)
    try:
        pg_schema.upgrade(engine)
        pg_schema.upgrade(engine)  # at head already: nothing to do
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": pg_schema.VERSION_TABLE})
            diff = [
                d for d in compare_metadata(ctx, pg_schema.metadata)
                if not (d[0] == "remove_table" and d[1].name == pg_schema.VERSION_TABLE)
            ]  # fmt: skip
            assert diff == []
            assert conn.execute(text("SELECT extname FROM pg_extension WHERE extname = 'vector'")
                                ).scalar() == "vector"  # fmt: skip
            assert ctx.get_current_revision() == "0001"
    finally:
        engine.dispose()
        postgres.drop_database(url)
