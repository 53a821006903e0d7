"""An export carries every field of every record exactly, in both formats, and can be
verified on its own; the time range and the tenant bound what it holds."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from audit import export, seal
from audit.log import AuditLog
from audit.records import EVENT_FIELDS, AuditEvent, AuditRecord, ExportFormat
from rag.core.errors import InvalidRequest
from tests.audit.conftest import KEY
from tests.audit.events import T0, event

FORMATS = [pytest.param("jsonl", id="jsonl"), pytest.param("csv", id="csv")]


def _read(
    log: AuditLog, fmt: ExportFormat, start: datetime | None = None, end: datetime | None = None
) -> list[AuditRecord]:
    text = "".join(log.export("acme", start, end, fmt))
    return list(export.read(io.StringIO(text, newline=""), fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_round_trips_every_field(audit_log: AuditLog, fmt: ExportFormat) -> None:
    events = [event(i) for i in range(12)]
    hashes = [audit_log.append(e) for e in events]
    audit_log.append(event(0, "other"))
    records = _read(audit_log, fmt)
    assert len(records) == len(events)
    for seq, (rec, sent, digest) in enumerate(zip(records, events, hashes, strict=True), 1):
        assert AuditEvent(**rec.model_dump(include=set(EVENT_FIELDS))) == sent
        assert (rec.seq, rec.hash) == (seq, digest)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_exported_file_verifies_on_its_own(audit_log: AuditLog, fmt: ExportFormat) -> None:
    """Without its seal, as far as the records go (the seal: test_seal.py)."""
    for i in range(6):
        audit_log.append(event(i))
    records = _read(audit_log, fmt)
    assert seal.check(records, KEY).broken is None and seal.check(records, KEY).records == 6
    assert seal.check(records[2:], KEY).broken is None  # a range starts mid-chain
    altered = [*records[:3], records[3].model_copy(update={"answer": "edited"}), *records[4:]]
    broken = seal.check(altered, KEY).broken
    assert broken is not None and broken.seq == 4
    broken = seal.check(records[:2] + records[3:], KEY).broken
    assert broken is not None and broken.seq == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_takes_the_time_range_from_inclusive_to_exclusive(
    audit_log: AuditLog, fmt: ExportFormat
) -> None:
    for i in range(10):
        audit_log.append(event(i, at=T0 + timedelta(minutes=i)))
    start, end = T0 + timedelta(minutes=3), T0 + timedelta(minutes=7)
    got = _read(audit_log, fmt, start=start, end=end)
    assert [r.seq for r in got] == [4, 5, 6, 7]
    assert audit_log.count("acme", start, end) == 4


def test_an_empty_export_is_its_header_and_seal(audit_log: AuditLog) -> None:
    header, sealed = audit_log.export("acme", fmt="csv")
    assert header.startswith("timestamp,request_id,") and sealed.startswith("_seal,")
    assert [line[:9] for line in audit_log.export("acme")] == ['{"_seal":']


def test_from_after_to_is_refused(audit_log: AuditLog) -> None:
    with pytest.raises(InvalidRequest):
        audit_log.export("acme", T0, T0 - timedelta(seconds=1))


def test_csv_cells_never_start_a_formula_and_still_round_trip(audit_log: AuditLog) -> None:
    """A redacted question like ``=HYPERLINK(...)`` reaches a spreadsheet as text; JSONL
    keeps it exactly, and both read back to the same record."""
    texts = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=quoted"]
    for i, text in enumerate(texts):
        audit_log.append(event(i).model_copy(update={"question": text, "answer": text}))
    csv_text = "".join(audit_log.export("acme", fmt="csv"))
    for row in list(csv.reader(io.StringIO(csv_text, newline="")))[1:]:
        assert not [c for c in row if c[:1] in ("=", "+", "-", "@", "\t", "\r")], row
    jsonl_text = "".join(audit_log.export("acme"))
    assert '"question":"=HYPERLINK' in jsonl_text
    read_csv = list(export.read(io.StringIO(csv_text, newline=""), "csv"))
    assert [r.question for r in read_csv] == texts
    assert read_csv == list(export.read(io.StringIO(jsonl_text), "jsonl"))
    assert seal.check(read_csv, KEY).broken is None


def test_slowly_read_exports_hold_no_database_connection(audit_log: AuditLog) -> None:
    """Twenty exports begun and left half-read (a client that stopped reading) keep no
    connection checked out: another request still gets one at once."""
    for i in range(5):
        audit_log.append(event(i))
    audit_log.page_size = 2
    engine = audit_log._engine
    exports = [audit_log.export("acme") for _ in range(20)]
    assert all(next(e).startswith('{"timestamp"') for e in exports)
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    audit_log.append(event(5))  # a record written meanwhile is past the export's head
    assert [len(list(e)) for e in exports] == [4 + 1] * 20  # and the seal
    assert [r.seq for r in _read(audit_log, "jsonl")] == [1, 2, 3, 4, 5, 6]
