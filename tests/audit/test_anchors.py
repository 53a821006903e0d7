"""Each tenant's chain is anchored outside the head row it protects: an old head put back
after deleting later records, or a tenant's head, records and checkpoints all deleted, no
longer verify; the database refuses to delete an anchor or move it back; on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from audit.chain import head_signature
from audit.log import ANCHORS, CHECKPOINTS, HEADS, RECORDS, AuditLog
from rag.core.errors import DatabaseUnavailable
from rag.tenants import TenantRow
from tests.audit.conftest import KEY
from tests.audit.events import T0, event


def _seed(log: AuditLog, n: int, tenant: str = "acme") -> None:
    for i in range(n):
        log.append(event(i, tenant, at=T0 + timedelta(days=i)))


def _head(engine: Engine, tenant: str = "acme") -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(HEADS).where(HEADS.c.tenant == tenant)).one()
    return dict(row._asdict())


def _put_back(engine: Engine, head: dict[str, Any]) -> None:
    """What restoring the head row from an older backup leaves: its records past it gone."""
    with engine.begin() as conn:
        conn.execute(delete(RECORDS).where(RECORDS.c.seq > head["seq"]))
        conn.execute(update(HEADS).where(HEADS.c.tenant == head["tenant"]).values(head))


def test_an_old_head_put_back_after_deleting_later_records_is_detected(
    engine: Engine, audit_log: AuditLog
) -> None:
    _seed(audit_log, 3)
    old = _head(engine)
    _seed(audit_log, 2)
    _put_back(engine, old)
    broken = audit_log.verify("acme").tenants[0].broken
    assert broken is not None and broken.seq == 4, broken
    assert "records 4..5 missing" in broken.reason and "older than its anchor" in broken.reason


def test_no_record_is_appended_behind_the_anchor(engine: Engine, audit_log: AuditLog) -> None:
    """After an old head was put back, the next append would re-use seq 4: refused, so the
    chain is not quietly continued from the restored head."""
    _seed(audit_log, 3)
    old = _head(engine)
    _seed(audit_log, 2)
    _put_back(engine, old)
    with pytest.raises(DatabaseUnavailable):
        audit_log.append(event(9))
    assert _head(engine) == old


def test_deleting_a_tenants_head_records_and_checkpoints_is_detected(
    engine: Engine, audit_log: AuditLog
) -> None:
    _seed(audit_log, 6)
    _seed(audit_log, 2, "beta")
    audit_log.prune(T0 + timedelta(days=3), "acme")
    with engine.begin() as conn:
        for rows in (HEADS, RECORDS, CHECKPOINTS):
            conn.execute(delete(rows).where(rows.c.tenant == "acme"))
    for report in (audit_log.verify(), audit_log.verify("acme")):
        acme = report.tenants[0]
        assert acme.tenant == "acme" and not acme.ok and acme.broken is not None
        assert acme.broken.reason == "chain head is missing"
    assert audit_log.verify("beta").ok


def test_a_registered_tenant_that_never_had_a_record_verifies_empty(
    engine: Engine, audit_log: AuditLog
) -> None:
    with engine.begin() as conn:
        conn.execute(insert(TenantRow), {"name": "gamma", "created_at": datetime.now(UTC)})
    _seed(audit_log, 1)
    report = audit_log.verify()
    assert report.ok, report
    gamma = {t.tenant: t for t in report.tenants}["gamma"]
    assert gamma.records == 0 and gamma.last_seq is None


REFUSED: list[Any] = [
    pytest.param(delete(ANCHORS), id="delete"),
    pytest.param(update(ANCHORS).values(seq=ANCHORS.c.seq - 1), id="seq-back"),
    pytest.param(update(ANCHORS).values(hash="f" * 64), id="hash-at-same-seq"),
    pytest.param(update(ANCHORS).values(pruned_to=ANCHORS.c.pruned_to - 1), id="pruned-to-back"),
    pytest.param(update(ANCHORS).values(signature=""), id="unsigned"),
    pytest.param(update(ANCHORS).values(tenant="other"), id="tenant"),
]


@pytest.mark.parametrize("statement", REFUSED)
def test_the_database_refuses_to_delete_or_move_back_an_anchor(
    engine: Engine, audit_log: AuditLog, statement: Any
) -> None:
    _seed(audit_log, 5)
    audit_log.prune(T0 + timedelta(days=2))
    with pytest.raises(DBAPIError, match="audit anchor"), engine.begin() as conn:
        conn.execute(statement)
    assert audit_log.verify().ok


def test_the_database_refuses_to_replace_or_truncate_the_anchors(
    engine: Engine, audit_log: AuditLog
) -> None:
    """SQLite's INSERT OR REPLACE deletes without firing delete triggers; PostgreSQL's
    TRUNCATE fires no row trigger either."""
    _seed(audit_log, 3)
    old = _head(engine)
    _seed(audit_log, 1)
    if engine.dialect.name == "sqlite":
        values = {**old, "pruned_to": 0, "signature": "a" * 64}
        sql = text(
            "INSERT OR REPLACE INTO audit_anchors (tenant, seq, hash, pruned_to, signature) "
            "VALUES (:tenant, :seq, :hash, :pruned_to, :signature)"
        )
        statement: Any = sql.bindparams(**values)
    else:
        statement = text("TRUNCATE audit_anchors")
    with pytest.raises(DBAPIError, match="audit anchor"), engine.begin() as conn:
        conn.execute(statement)
    assert audit_log.verify().ok


@pytest.mark.parametrize("forged", ["head-signature", "other-key"])
def test_a_forged_anchor_signature_is_detected(
    engine: Engine, audit_log: AuditLog, forged: str
) -> None:
    """The anchor is signed as an anchor: the head's own signature does not pass for it."""
    _seed(audit_log, 2)
    head = _head(engine)
    key = KEY if forged == "head-signature" else b"a guessed key"
    with engine.begin() as conn:
        signature = head_signature(key, "acme", head["seq"], head["hash"])
        conn.execute(update(ANCHORS).values(signature=signature))
    broken = audit_log.verify("acme").tenants[0].broken
    assert broken is not None and broken.reason == "chain anchor signature is invalid"


def test_appends_move_the_anchor_and_prune_its_checkpoint(
    engine: Engine, audit_log: AuditLog
) -> None:
    _seed(audit_log, 6)
    audit_log.prune(T0 + timedelta(days=2))
    with engine.connect() as conn:
        assert conn.execute(select(ANCHORS.c.seq, ANCHORS.c.pruned_to)).one() == (6, 2)
    audit_log.prune(T0 + timedelta(days=4))
    audit_log.append(event(9))
    with engine.connect() as conn:
        assert conn.execute(select(ANCHORS.c.seq, ANCHORS.c.pruned_to)).one() == (7, 4)
    assert audit_log.verify().ok
