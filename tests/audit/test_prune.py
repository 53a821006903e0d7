"""Pruning deletes old records but leaves a signed checkpoint, so the rest of the chain still
verifies; a forged, altered or deleted checkpoint is detected; a broken chain is not pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from audit.chain import checkpoint_signature
from audit.log import CHECKPOINTS, RECORDS, AuditLog
from audit.records import iso
from rag.core.errors import InvalidRequest
from tests.audit.events import T0, event


def _seed(log: AuditLog, n: int = 10, tenant: str = "acme") -> None:
    for i in range(n):
        log.append(event(i, tenant, at=T0 + timedelta(days=i)))


def _count(engine: Engine, tenant: str = "acme") -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(RECORDS.c.tenant == tenant)) or 0)


def test_prune_keeps_the_rest_of_the_chain_verifiable(engine: Engine, audit_log: AuditLog) -> None:
    _seed(audit_log)
    _seed(audit_log, 4, "beta")
    assert audit_log.prune(T0 + timedelta(days=6), "acme") == {"acme": 6}
    assert _count(engine) == 4 and _count(engine, "beta") == 4
    acme = audit_log.verify("acme").tenants[0]
    assert acme.ok and (acme.checkpoint_seq, acme.pruned, acme.first_seq) == (6, 6, 7)
    audit_log.append(event(99))  # the chain goes on from the same head
    assert audit_log.prune(T0 + timedelta(days=8)) == {"acme": 2, "beta": 4}
    report = audit_log.verify()
    assert report.ok, report
    acme = report.tenants[0]
    assert (acme.checkpoint_seq, acme.pruned, acme.records, acme.last_seq) == (8, 8, 3, 11)


def test_prune_deletes_only_a_prefix_of_the_chain(engine: Engine, audit_log: AuditLog) -> None:
    """Concurrent requests can commit out of timestamp order; the pruned part stays gapless."""
    for day in (0, 1, 5, 2, 6):
        audit_log.append(event(day, at=T0 + timedelta(days=day)))
    assert audit_log.prune(T0 + timedelta(days=3)) == {"acme": 2}
    assert _count(engine) == 3 and audit_log.verify().ok


def test_prune_with_nothing_old_enough_does_nothing(engine: Engine, audit_log: AuditLog) -> None:
    _seed(audit_log, 3)
    assert audit_log.prune(T0) == {"acme": 0}
    assert audit_log.verify("acme").tenants[0].checkpoint_seq is None


def test_pruning_everything_leaves_a_verifiable_empty_chain(
    engine: Engine, audit_log: AuditLog
) -> None:
    _seed(audit_log, 3)
    assert audit_log.prune(datetime.now(UTC)) == {"acme": 3}
    report = audit_log.verify("acme").tenants[0]
    assert report.ok and report.records == 0 and report.pruned == 3


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"seq": 5}, id="seq"),
        pytest.param({"hash": "0" * 64}, id="hash"),
        pytest.param({"count": 99}, id="count"),
        pytest.param({"created_at": T0}, id="created_at"),
        pytest.param({"signature": "0" * 64}, id="signature"),
    ],
)
def test_an_altered_checkpoint_is_detected(
    engine: Engine, audit_log: AuditLog, change: dict[str, object]
) -> None:
    _seed(audit_log)
    audit_log.prune(T0 + timedelta(days=6))
    with engine.begin() as conn:
        conn.execute(update(CHECKPOINTS).values(change))
    broken = audit_log.verify("acme").tenants[0].broken
    assert broken is not None and broken.reason == "checkpoint signature is invalid"


def test_a_forged_checkpoint_that_hides_records_is_detected(
    engine: Engine, audit_log: AuditLog
) -> None:
    """Deleting records and writing a checkpoint over them needs the key."""
    _seed(audit_log)
    with engine.begin() as conn:
        last = conn.execute(select(RECORDS.c.hash).where(RECORDS.c.seq == 4)).scalar_one()
        conn.execute(delete(RECORDS).where(RECORDS.c.seq <= 4))
        created = datetime.now(UTC)
        forged = checkpoint_signature(b"not the key", "acme", 4, last, 4, iso(created))
        conn.execute(
            insert(CHECKPOINTS),
            {"tenant": "acme", "seq": 4, "hash": last, "count": 4, "created_at": created,
             "signature": forged},
        )  # fmt: skip
    broken = audit_log.verify().tenants[0].broken
    assert broken is not None and broken.seq == 4
    assert broken.reason == "checkpoint signature is invalid"


def test_deleting_the_checkpoint_is_detected(engine: Engine, audit_log: AuditLog) -> None:
    _seed(audit_log)
    audit_log.prune(T0 + timedelta(days=6))
    with engine.begin() as conn:
        conn.execute(delete(CHECKPOINTS))
    broken = audit_log.verify("acme").tenants[0].broken
    assert broken is not None and broken.seq == 1 and "missing" in broken.reason


def test_a_broken_chain_is_not_pruned(engine: Engine, audit_log: AuditLog) -> None:
    _seed(audit_log)
    with engine.begin() as conn:
        conn.execute(update(RECORDS).where(RECORDS.c.seq == 2).values(answer="edited"))
    with pytest.raises(InvalidRequest, match="broken at seq 2"):
        audit_log.prune(T0 + timedelta(days=6))
    assert _count(engine) == 10
