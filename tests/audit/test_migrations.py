"""The Alembic migrations build the whole schema the models declare, adopt databases that
``create_all`` made before migrations existed, and survive several processes starting at
once; on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, select
from sqlalchemy.engine import Engine

from audit.chain import GENESIS, head_signature, record_hash
from audit.log import ANCHORS, RECORDS, AuditLog
from audit.records import event_payload
from rag import migrations
from rag.core.db import Base
from rag.db import make_engine
from rag.keys import ApiKeyRow
from rag.migrations import import_tables
from rag.tenants import TenantRow
from tests.audit.conftest import KEY
from tests.audit.events import T0, event
from tests.audit.together import start_together

import_tables()
AUDIT_TABLES = {"audit_records", "audit_heads", "audit_checkpoints", "audit_anchors"}


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return migrations.current(conn)


def test_an_empty_database_gets_exactly_the_models_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert _revision(engine) == migrations.head() is not None
        assert _diff(engine) == []  # models and migrations agree
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "tables",
    [
        pytest.param(["tenants"], id="tenants-only"),
        pytest.param(["tenants", "tenant_privacy", "tenant_settings", "api_keys"], id="with-keys"),
    ],
)
def test_a_database_made_by_create_all_is_adopted_with_its_rows(
    db_url: str, tables: list[str]
) -> None:
    legacy = create_engine(db_url)
    Base.metadata.create_all(legacy, tables=[Base.metadata.tables[t] for t in tables])
    now = datetime.now(UTC)
    with legacy.begin() as conn:
        conn.execute(insert(TenantRow), {"name": "acme", "created_at": now})
        if "api_keys" in tables:
            conn.execute(
                insert(ApiKeyRow),
                {"id": "k1", "tenant": "acme", "role": "user", "name": "", "key_hash": "0" * 64,
                 "created_at": now},
            )  # fmt: skip
    legacy.dispose()

    engine = make_engine(db_url)
    try:
        assert _revision(engine) == migrations.head()
        assert set(inspect(engine).get_table_names()) >= AUDIT_TABLES
        assert _diff(engine) == []
        with engine.connect() as conn:
            assert conn.scalars(select(TenantRow.name)).all() == ["acme"]
    finally:
        engine.dispose()


def test_a_chain_written_before_quotes_existed_verifies_after_the_upgrade(db_url: str) -> None:
    """Records and a signed head as revision 0002 wrote them (no quotes column); upgraded to
    head, each has ``quotes`` "[]" and the chain verifies as before."""
    legacy = create_engine(db_url)
    with legacy.connect() as conn:
        command.upgrade(migrations.config(conn), "0002")
        conn.commit()
    records = Table("audit_records", MetaData(), autoload_with=legacy)
    assert "quotes" not in records.c
    prev = GENESIS
    with legacy.begin() as conn:
        for seq in range(1, 4):
            stored = event_payload(event(seq))
            del stored["quotes"]
            stored["timestamp"] = event(seq).timestamp
            row = {**stored, "seq": seq, "prev_hash": prev}
            prev = record_hash({**event_payload(event(seq)), "quotes": "[]"}, seq, prev)
            conn.execute(insert(records), {**row, "hash": prev})
        heads = Table("audit_heads", MetaData(), autoload_with=legacy)
        signature = head_signature(KEY, "acme", 3, prev)
        conn.execute(
            insert(heads), {"tenant": "acme", "seq": 3, "hash": prev, "signature": signature}
        )
    legacy.dispose()

    engine = make_engine(db_url)
    try:
        assert _revision(engine) == migrations.head() and _diff(engine) == []
        report = AuditLog(engine, KEY).verify("acme")
        assert report.ok and report.tenants[0].records == 3, report
        with engine.connect() as conn:
            assert set(conn.scalars(select(RECORDS.c.quotes)).all()) == {"[]"}
    finally:
        engine.dispose()


def test_anchors_are_backfilled_from_the_heads_and_signed_by_the_next_append(
    engine: Engine,
) -> None:
    """A database from before 0004: its chains verify after the upgrade, each anchored where
    its head and newest checkpoint were (unsigned: the migration has no key)."""
    log = AuditLog(engine, KEY)
    for i in range(4):
        log.append(event(i, at=T0 + timedelta(days=i)))
    log.prune(T0 + timedelta(days=2))
    with engine.connect() as conn:
        command.downgrade(migrations.config(conn), "0003")
        conn.commit()
    assert "audit_anchors" not in inspect(engine).get_table_names()
    migrations.upgrade(engine)
    with engine.connect() as conn:
        anchor = conn.execute(select(ANCHORS)).one()
    assert (anchor.tenant, anchor.seq, anchor.pruned_to, anchor.signature) == ("acme", 4, 2, "")
    assert log.verify().ok
    log.append(event(9))
    with engine.connect() as conn:
        anchor = conn.execute(select(ANCHORS)).one()
    assert anchor.seq == 5 and anchor.signature != ""
    assert log.verify().ok


def test_processes_starting_together_migrate_once(db_url: str) -> None:
    code = "import sys; from rag.db import make_engine; print('ready', flush=True); input(); "
    procs = start_together([[sys.executable, "-c", code + "make_engine(sys.argv[1])", db_url]] * 3)
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    engine = create_engine(db_url)
    try:
        assert _revision(engine) == migrations.head() and _diff(engine) == []
    finally:
        engine.dispose()


def test_migrations_downgrade_to_an_empty_database(engine: Engine) -> None:
    with engine.connect() as conn:
        command.downgrade(migrations.config(conn), "base")
        conn.commit()
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
