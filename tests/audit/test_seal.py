"""Every export ends with a signed seal of what it holds, so that a file checked on its own
tells whole from cut short, a record missing, altered or fabricated, and says so when it has
no seal; in both formats, on both databases."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from audit import export, seal
from audit.chain import GENESIS, record_hash
from audit.log import AuditLog
from audit.records import AuditRecord, ExportFormat, event_payload
from audit.seal import Seal
from tests.audit.conftest import KEY
from tests.audit.events import T0, event

FORMATS = [pytest.param("jsonl", id="jsonl"), pytest.param("csv", id="csv")]
Items = list[AuditRecord | Seal]


def _items(log: AuditLog, fmt: ExportFormat, tenant: str = "acme", **range_: Any) -> Items:
    text = "".join(log.export(tenant, fmt=fmt, **range_))
    return list(export.items(io.StringIO(text, newline=""), fmt))


def _seed(log: AuditLog, n: int = 6, tenant: str = "acme") -> None:
    for i in range(n):
        log.append(event(i, tenant, at=T0 + timedelta(days=i)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_ends_with_a_seal_of_what_it_holds(
    audit_log: AuditLog, fmt: ExportFormat
) -> None:
    _seed(audit_log)
    items = _items(audit_log, fmt, start=T0 + timedelta(days=1), end=T0 + timedelta(days=4))
    *records, last = items
    assert [r.seq for r in records if isinstance(r, AuditRecord)] == [2, 3, 4]
    assert isinstance(last, Seal)
    assert (last.tenant, last.count, last.first_seq, last.last_seq) == ("acme", 3, 2, 4)
    assert last.head_seq == 6 and last.start is not None and last.start.startswith("2025-03-02")
    report = seal.check(items, KEY)
    assert report.status == "whole" and report.records == 3 and report.broken is None


def test_an_empty_export_is_sealed_empty(audit_log: AuditLog) -> None:
    items = _items(audit_log, "jsonl", tenant="nobody")
    assert len(items) == 1 and isinstance(items[0], Seal) and items[0].count == 0
    assert seal.check(items, KEY).status == "whole"


def _forged(records: list[AuditRecord]) -> list[AuditRecord]:
    """The records with an answer edited and every hash after it recomputed: a chain that
    links up, as someone without the key could fabricate it."""
    out, prev = [], records[0].prev_hash
    for i, r in enumerate(records):
        r = r.model_copy(update={"answer": "forged"}) if i == 2 else r
        r = r.model_copy(update={"prev_hash": prev})
        prev = record_hash(event_payload(r), r.seq, prev)
        out.append(r.model_copy(update={"hash": prev}))
    return out


def _reseal(items: Items, key: bytes, **change: Any) -> Items:
    old = items[-1]
    assert isinstance(old, Seal)
    new = old.model_copy(update=change)
    return [*items[:-1], new.model_copy(update={"signature": new.signed(key)})]


def _other_tenants(items: Items) -> Items:
    return [r.model_copy(update={"tenant": "beta"}) if isinstance(r, AuditRecord) else r
            for r in items]  # fmt: skip


Tamper = Callable[[Items], Items]
TAMPERING: list[Any] = [
    pytest.param(lambda it: [*it[:4], it[-1]], "truncated", 5, id="last-records-cut"),
    pytest.param(lambda it: it[:4], "unsealed", None, id="cut-with-its-seal"),
    pytest.param(lambda it: [*it[:2], *it[3:]], "missing", 3, id="middle-record-deleted"),
    pytest.param(lambda it: it[1:], "missing", 1, id="first-record-deleted"),
    pytest.param(
        lambda it: [*it[:3], it[3].model_copy(update={"question": "x"}), *it[4:]],  # type: ignore[union-attr]
        "altered", 4, id="record-edited",
    ),
    pytest.param(lambda it: [*_forged(it[:-1]), it[-1]], "altered", 0, id="chain-recomputed"),
    pytest.param(lambda it: _reseal(it, b"a guessed key", count=6), "fabricated", 0,
                 id="seal-signed-without-the-key"),
    pytest.param(lambda it: [*it[:-1], it[-1].model_copy(update={"count": 5})],  # type: ignore[union-attr]
                 "fabricated", 0, id="seal-edited"),
    pytest.param(lambda it: _reseal(_other_tenants(it), b"x"), "altered", 1,
                 id="records-of-another-tenant"),
    pytest.param(lambda it: [*it, it[0]], "altered", 6, id="line-after-the-seal"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("tamper", "status", "seq"), TAMPERING)
def test_check_tells_a_whole_export_from_a_tampered_one(
    audit_log: AuditLog, fmt: ExportFormat, tamper: Tamper, status: str, seq: int | None
) -> None:
    _seed(audit_log)
    items = _items(audit_log, fmt)
    assert seal.check(items, KEY).status == "whole"
    report = seal.check(tamper(items), KEY)
    assert report.status == status, report
    assert (report.broken.seq if report.broken else None) == seq, report


def test_records_under_another_tenants_seal_are_fabricated(audit_log: AuditLog) -> None:
    _seed(audit_log, 2, "acme")
    _seed(audit_log, 2, "beta")
    beta = _items(audit_log, "jsonl", "beta")
    acme = _items(audit_log, "jsonl", "acme")
    report = seal.check([*acme[:-1], beta[-1]], KEY)
    assert report.status == "fabricated" and report.broken is not None
    assert "records of tenant acme in an export of beta" in report.broken.reason


def test_a_range_with_gaps_in_the_chain_is_whole_when_sealed(audit_log: AuditLog) -> None:
    """Records written with explicit times out of order: a time range holds seq 1, 2, 4."""
    for day in (0, 1, 5, 2, 6):
        audit_log.append(event(day, at=T0 + timedelta(days=day)))
    items = _items(audit_log, "jsonl", end=T0 + timedelta(days=3))
    assert [r.seq for r in items if isinstance(r, AuditRecord)] == [1, 2, 4]
    assert seal.check(items, KEY).status == "whole"
    unsealed = seal.check(items[:-1], KEY)
    assert unsealed.status == "missing" and unsealed.broken is not None
    assert unsealed.broken.seq == 3


def test_an_export_from_before_seals_is_reported_unsealed(audit_log: AuditLog) -> None:
    _seed(audit_log, 3)
    old = [r for r in _items(audit_log, "jsonl") if isinstance(r, AuditRecord)]
    report = seal.check(old, KEY)
    assert (report.status, report.records, report.broken) == ("unsealed", 3, None)
    assert old[0].prev_hash == GENESIS
