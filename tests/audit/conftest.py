"""Every audit test runs on both databases: SQLite in a temporary folder, and PostgreSQL in
a fresh database of one server per session (a private throwaway cluster, or the server at
RAGTRUST_TEST_POSTGRES_URL). Without PostgreSQL binaries the PostgreSQL half is skipped,
unless RAGTRUST_TEST_POSTGRES=required (as `make test` sets it) turns that into a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from audit.log import AuditLog
from rag.db import make_engine
from tests.audit import pgcluster

KEY = bytes.fromhex("5a" * 32)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.from_env_or_start()
    if cluster is None:
        message = "PostgreSQL is not installed (`make test` installs it)"
        if os.environ.get("RAGTRUST_TEST_POSTGRES") == "required":
            pytest.fail(message)
        pytest.skip(message)
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ragtrust.db'}"
        return
    cluster: pgcluster.Cluster = request.getfixturevalue("postgres")
    url = cluster.create_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the migrated database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def audit_log(engine: Engine) -> AuditLog:
    return AuditLog(engine, KEY)
