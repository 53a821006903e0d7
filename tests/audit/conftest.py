"""Every audit test runs on both databases: SQLite in a temporary folder, and PostgreSQL in
a fresh database of one server per session (tests/conftest.py's ``postgres``: a private
throwaway cluster, or the server at RAGTRUST_TEST_POSTGRES_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from audit.log import AuditLog
from rag.db import make_engine
from tests.audit import pgcluster

KEY = bytes.fromhex("5a" * 32)


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
