"""Appends from many threads and processes give complete chains, and verify finds any edit
or deletion (reporting the first broken link), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.engine import Engine

from audit import export
from audit.chain import GENESIS, head_signature, record_hash
from audit.log import HEADS, RECORDS, AuditLog
from audit.records import AuditEvent, dumps, event_payload, from_row, iso
from rag.core.errors import DatabaseUnavailable
from tests.audit.conftest import KEY
from tests.audit.events import event
from tests.audit.together import start_together


def test_a_new_chain_starts_at_the_genesis_and_links_each_record(audit_log: AuditLog) -> None:
    hashes = [audit_log.append(event(i)) for i in range(3)]
    *rows, sealed = [json.loads(line) for line in audit_log.export("acme")]
    assert sealed["_seal"]["digest"] == hashlib.sha256("".join(hashes).encode()).hexdigest()
    assert [r["prev_hash"] for r in rows] == [GENESIS, *hashes[:2]]
    assert [r["hash"] for r in rows] == hashes
    report = audit_log.verify("acme")
    assert report.ok and report.tenants[0].records == 3 and report.tenants[0].last_seq == 3


@pytest.mark.parametrize("i", [3, 4, 5], ids=["failed", "answered", "quoted"])
def test_a_record_hash_is_the_sha256_of_its_canonical_json(i: int) -> None:
    """The documented format, so that a verifier needs no ragtrust code: every field, but an
    empty ``quotes`` and ``requests`` of 1 (added later) left out, as records written before
    them have none."""
    e = event(i)
    body = {**e.model_dump(), "timestamp": iso(e.timestamp), "seq": 7, "prev_hash": GENESIS}
    if not e.quotes:
        del body["quotes"]
    assert body.pop("requests") == 1
    assert bool(e.quotes) == (i == 5)
    expected = hashlib.sha256(dumps(body).encode()).hexdigest()
    assert record_hash(event_payload(e), 7, GENESIS) == expected


def test_threads_of_several_tenants_append_complete_chains(audit_log: AuditLog) -> None:
    tenants, per_thread, threads = ("a", "b", "c"), 8, 6

    def work(t: int) -> list[str]:
        return [audit_log.append(event(i, tenants[(t + i) % 3])) for i in range(per_thread)]

    with ThreadPoolExecutor(threads) as pool:
        hashes = [h for chunk in pool.map(work, range(threads)) for h in chunk]
    assert len(set(hashes)) == per_thread * threads
    report = audit_log.verify()
    assert report.ok, report
    assert sum(t.records for t in report.tenants) == per_thread * threads
    assert {t.tenant for t in report.tenants} == set(tenants)


def test_processes_and_threads_append_to_one_database(engine: Engine, audit_log: AuditLog) -> None:
    """Two worker processes with three threads each, and this process, all at once."""
    url = engine.url.render_as_string(hide_password=False)
    worker = [sys.executable, "-m", "tests.audit.append_worker", url, KEY.hex(), "x,y,z"]
    workers = start_together([[*worker, "20", "3"]] * 2)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda i: audit_log.append(event(i, "xyz"[i % 3])), range(36)))
    for w in workers:
        out, err = w.communicate(timeout=240)
        assert w.returncode == 0, err
        assert int(out) == 60  # 20 appends by each of 3 threads
    report = audit_log.verify()
    assert report.ok, report
    assert {t.tenant: t.records for t in report.tenants} == {"x": 52, "y": 52, "z": 52}


def _seed(log: AuditLog) -> None:
    for i in range(5):
        log.append(event(i, "acme"))
    for i in range(3):
        log.append(event(i, "beta"))


def _row(engine: Engine, seq: int) -> Any:
    with engine.connect() as conn:
        query = select(RECORDS).where(RECORDS.c.tenant == "acme", RECORDS.c.seq == seq)
        return conn.execute(query).one()


EDITS: list[Any] = [
    pytest.param("timestamp", lambda r: r.timestamp.replace(year=2024), id="timestamp"),
    pytest.param("request_id", lambda r: "req-other", id="request_id"),
    pytest.param("key_id", lambda r: "k0000000000f", id="key_id"),
    pytest.param("role", lambda r: "admin" if r.role != "admin" else "user", id="role"),
    pytest.param("route", lambda r: "/v1/score", id="route"),
    pytest.param("status", lambda r: "ok" if r.status == "error" else "error", id="status"),
    pytest.param("http_status", lambda r: 500, id="http_status"),
    pytest.param("error_code", lambda r: "internal_error", id="error_code"),
    pytest.param("question", lambda r: r.question + " ", id="question"),
    pytest.param("answer", lambda r: "Margaret said yes", id="answer"),
    pytest.param("document_ids", lambda r: '["doc-x"]', id="document_ids"),
    pytest.param("chunk_ids", lambda r: "[]", id="chunk_ids"),
    pytest.param("model", lambda r: "llama-70b", id="model"),
    pytest.param("precision", lambda r: "bf16", id="precision"),
    pytest.param("trust_score", lambda r: 0.99, id="trust_score"),
    pytest.param("trust_flagged", lambda r: not r.trust_flagged, id="trust_flagged"),
    pytest.param("trust_preset", lambda r: "off", id="trust_preset"),
    pytest.param("pii_counts", lambda r: "{}", id="pii_counts"),
    pytest.param("usage", lambda r: '{"prompt_tokens":1}', id="usage"),
    pytest.param("timings_ms", lambda r: '{"total":1.0}', id="timings_ms"),
    pytest.param("cost", lambda r: '{"usd":0.0}', id="cost"),
    pytest.param("quotes", lambda r: "[]" if r.quotes != "[]" else '[{"a":1}]', id="quotes"),
    pytest.param("prev_hash", lambda r: GENESIS, id="prev_hash"),
    pytest.param("hash", lambda r: "f" * 64, id="hash"),
]


@pytest.mark.parametrize(("column", "new_value"), EDITS)
def test_editing_any_field_is_detected_at_that_record(
    engine: Engine, audit_log: AuditLog, column: str, new_value: Callable[[Any], Any]
) -> None:
    _seed(audit_log)
    value = new_value(_row(engine, 3))
    with engine.begin() as conn:
        where = (RECORDS.c.tenant == "acme") & (RECORDS.c.seq == 3)
        conn.execute(update(RECORDS).where(where).values({column: value}))
    report = audit_log.verify()
    assert not report.ok
    broken = {t.tenant: t.broken for t in report.tenants}
    assert broken["beta"] is None
    assert broken["acme"] is not None and broken["acme"].seq == 3, broken["acme"]


def test_removing_an_answers_quotes_is_detected(engine: Engine, audit_log: AuditLog) -> None:
    """An empty quote list is hashed as no field at all; emptying one that was not still
    breaks the record."""
    _seed(audit_log)
    assert _row(engine, 2).quotes != "[]"
    with engine.begin() as conn:
        where = (RECORDS.c.tenant == "acme") & (RECORDS.c.seq == 2)
        conn.execute(update(RECORDS).where(where).values(quotes="[]"))
    broken = {t.tenant: t.broken for t in audit_log.verify().tenants}
    assert broken["acme"] is not None and broken["acme"].seq == 2, broken["acme"]


def test_rewriting_a_record_with_recomputed_hashes_is_detected(
    engine: Engine, audit_log: AuditLog
) -> None:
    """Whoever can write the database can recompute the public hashes, but not sign the head."""
    _seed(audit_log)
    acme = RECORDS.c.tenant == "acme"
    with engine.begin() as conn:
        records = [from_row(r) for r in conn.execute(select(RECORDS).where(acme).order_by("seq"))]
        prev = GENESIS
        for rec in records:
            rec["answer"] = "rewritten"
            digest = record_hash(rec, rec["seq"], prev)
            conn.execute(
                update(RECORDS)
                .where(acme & (RECORDS.c.seq == rec["seq"]))
                .values(answer="rewritten", prev_hash=prev, hash=digest)
            )
            prev = digest
        conn.execute(update(HEADS).where(HEADS.c.tenant == "acme").values(hash=prev))
    broken = audit_log.verify("acme").tenants[0].broken
    assert broken is not None and broken.reason == "chain head signature is invalid"


@pytest.mark.parametrize("seq", [1, 3, 5], ids=["first", "middle", "last"])
def test_deleting_any_record_is_detected_at_its_seq(
    engine: Engine, audit_log: AuditLog, seq: int
) -> None:
    _seed(audit_log)
    with engine.begin() as conn:
        conn.execute(delete(RECORDS).where((RECORDS.c.tenant == "acme") & (RECORDS.c.seq == seq)))
    report = audit_log.verify()
    assert not report.ok
    broken = report.tenants[0].broken
    assert report.tenants[0].tenant == "acme" and broken is not None and broken.seq == seq
    assert "missing" in broken.reason


def test_deleting_the_newest_records_and_moving_the_head_back_is_detected(
    engine: Engine, audit_log: AuditLog
) -> None:
    _seed(audit_log)
    keep = _row(engine, 3)
    with engine.begin() as conn:
        conn.execute(delete(RECORDS).where((RECORDS.c.tenant == "acme") & (RECORDS.c.seq > 3)))
        forged = head_signature(b"a guessed key", "acme", 3, keep.hash)
        conn.execute(
            update(HEADS)
            .where(HEADS.c.tenant == "acme")
            .values(seq=3, hash=keep.hash, signature=forged)
        )
    broken = audit_log.verify("acme").tenants[0].broken
    assert broken is not None and broken.reason == "chain head signature is invalid"


def test_deleting_a_tenants_head_or_whole_chain_is_detected(
    engine: Engine, audit_log: AuditLog
) -> None:
    _seed(audit_log)
    with engine.begin() as conn:
        conn.execute(delete(HEADS).where(HEADS.c.tenant == "acme"))
        conn.execute(delete(RECORDS).where(RECORDS.c.tenant == "beta"))
    report = {t.tenant: t.broken for t in audit_log.verify().tenants}
    assert report["acme"] is not None and report["acme"].reason == "chain head is missing"
    assert report["beta"] is not None and report["beta"].seq == 1


def test_a_record_that_cannot_be_written_raises_database_unavailable(
    engine: Engine, audit_log: AuditLog
) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_records"))
    with pytest.raises(DatabaseUnavailable):
        audit_log.append(event(0))
    with pytest.raises(DatabaseUnavailable):
        audit_log.verify()


def test_an_unreachable_database_raises_database_unavailable() -> None:
    log = AuditLog(create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none"), KEY)
    with pytest.raises(DatabaseUnavailable):
        log.append(event(0))
    with pytest.raises(DatabaseUnavailable):
        log.export("acme")


def test_records_are_stamped_in_sequence_order(audit_log: AuditLog) -> None:
    """An event built first but appended second (it waited for the chain lock) gets the
    later time: timestamps follow sequence numbers."""
    first = AuditEvent(**event(1).model_dump(exclude={"timestamp"}))  # stamped by default
    time.sleep(0.002)
    second = AuditEvent(**event(2).model_dump(exclude={"timestamp"}))
    audit_log.append(second)
    audit_log.append(first)
    stamps = [
        r.timestamp for r in export.read("".join(audit_log.export("acme")).splitlines(), "jsonl")
    ]
    assert len(stamps) == 2 and stamps[0] < stamps[1], stamps
