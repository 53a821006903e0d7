"""The seal at the end of every export, and the check that tells a whole file from one cut
short, with records missing, altered or fabricated.

Records link to each other, so a file checks on its own as far as it goes; but a file cut
after any record, or missing its first ones, still links up. The seal, written after the
last record, says what the service exported: tenant, range, count, first and last seq, the
SHA-256 of the records' hashes in file order, and the chain head when the export began,
signed (kind ``export``) with the audit key. A file without its seal is reported as
unsealed, never as whole: cutting a file short takes its seal off too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from audit.chain import BrokenLink, ChainPoint, record_hash, sign, signature_ok
from audit.records import AuditRecord, event_payload, iso

SEAL_KEY = "_seal"  # JSONL: the last line is {"_seal": {...}}; CSV: a row "_seal",<json>


class Seal(BaseModel):
    """What one export held. ``start``/``end`` are its --from/--to (None: unbounded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    start: str | None
    end: str | None
    count: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None
    digest: str = Field(description="SHA-256 of the records' hashes (hex), in file order.")
    head_seq: int = Field(description="The tenant's chain head when the export began.")
    head_hash: str
    exported_at: str
    signature: str = ""

    def signed(self, key: bytes) -> str:
        return sign(key, "export", **self.model_dump(exclude={"signature"}))


class SealWriter:
    """Watches the records of one export go by and seals what passed."""

    def __init__(
        self, tenant: str, start: datetime | None, end: datetime | None, head: ChainPoint
    ) -> None:
        self._fields: dict[str, Any] = {
            "tenant": tenant, "start": start and iso(start), "end": end and iso(end),
            "head_seq": head.seq, "head_hash": head.hash,
        }  # fmt: skip
        self._digest = hashlib.sha256()
        self._count = 0
        self._first: int | None = None
        self._last: ChainPoint | None = None

    def watch(self, records: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for rec in records:
            self._digest.update(rec["hash"].encode())
            self._count += 1
            self._first = self._first or int(rec["seq"])
            self._last = ChainPoint(int(rec["seq"]), rec["hash"])
            yield rec

    def seal(self, key: bytes) -> Seal:
        unsigned = Seal(
            **self._fields,
            count=self._count,
            first_seq=self._first,
            last_seq=self._last.seq if self._last else None,
            last_hash=self._last.hash if self._last else None,
            digest=self._digest.hexdigest(),
            exported_at=iso(datetime.now(UTC)),
        )
        return unsigned.model_copy(update={"signature": unsigned.signed(key)})


Status = Literal["whole", "unsealed", "truncated", "missing", "altered", "fabricated"]


class FileReport(BaseModel):
    """``whole``: sealed, and every record the seal lists is there, unaltered. ``unsealed``:
    the records link up, but nothing says the file is complete (cut short, or exported
    before seals existed). Otherwise ``broken`` says where the file first goes wrong."""

    status: Status
    records: int
    first_seq: int | None = None
    last_seq: int | None = None
    broken: BrokenLink | None = None
    seal: Seal | None = None


def check(items: Iterable[AuditRecord | Seal], key: bytes) -> FileReport:
    """Check an export as ``audit.export.items`` reads it: each record's hash, its link to
    the record before (where the seqs follow each other: a time range may leave gaps), and
    the records against the seal. The first record's ``prev_hash`` is taken on trust."""
    walk = _Walk()
    seal: Seal | None = None
    for item in items:
        if seal is not None:
            return walk.report("altered", BrokenLink(seq=walk.last_seq, reason="lines after "
                               "the seal"), seal)  # fmt: skip
        if isinstance(item, Seal):
            seal = item
        elif (fault := walk.feed(item)) is not None:
            return walk.report("altered", fault, seal)
    if seal is None:
        if walk.gap is not None:
            return walk.report("missing", walk.gap)
        return walk.report("unsealed")
    return _against(walk, seal, key)


def _against(walk: _Walk, seal: Seal, key: bytes) -> FileReport:
    if not signature_ok(seal.signed(key), seal.signature):
        reason = "the seal's signature is invalid: the seal was edited, or not made with this key"
        return walk.report("fabricated", BrokenLink(seq=0, reason=reason), seal)
    if others := walk.tenants - {seal.tenant}:
        reason = f"records of tenant {sorted(others)[0]} in an export of {seal.tenant}"
        return walk.report("fabricated", BrokenLink(seq=0, reason=reason), seal)
    if walk.count == seal.count and walk.digest.hexdigest() == seal.digest:
        return walk.report("whole", None, seal)
    listed = f"the seal lists {seal.count} records (seq {seal.first_seq}..{seal.last_seq})"
    found = f"the file has {walk.count}"
    status: Status
    if walk.count < seal.count and seal.first_seq and (walk.first_seq or 0) != seal.first_seq:
        at, status, what = seal.first_seq, "missing", "records at the start missing"
    elif walk.count < seal.count and (walk.last_seq or 0) < (seal.last_seq or 0):
        at, status, what = walk.last_seq + 1, "truncated", f"cut after seq {walk.last_seq}"
    elif walk.count < seal.count:
        at = walk.gap.seq if walk.gap else 0
        status, what = "missing", "a record missing" + (f" at seq {at}" if at else "")
    else:
        at, status, what = 0, "altered", "the records are not the ones sealed"
    return walk.report(status, BrokenLink(seq=at, reason=f"{what}: {listed}, {found}"), seal)


class _Walk:
    def __init__(self) -> None:
        self.count = 0
        self.first_seq: int | None = None
        self.prev: ChainPoint | None = None
        self.gap: BrokenLink | None = None
        self.tenants: set[str] = set()
        self.digest = hashlib.sha256()

    @property
    def last_seq(self) -> int:
        return self.prev.seq if self.prev else 0

    def feed(self, rec: AuditRecord) -> BrokenLink | None:
        stored = event_payload(rec)
        if record_hash(stored, rec.seq, rec.prev_hash) != rec.hash:
            return BrokenLink(seq=rec.seq, reason="record altered: its hash does not match "
                              "its fields")  # fmt: skip
        if self.prev is not None:
            if rec.seq <= self.prev.seq:
                return BrokenLink(seq=rec.seq, reason=f"record out of order or duplicated; "
                                  f"found seq {rec.seq} after {self.prev.seq}")  # fmt: skip
            if rec.seq == self.prev.seq + 1 and rec.prev_hash != self.prev.hash:
                return BrokenLink(seq=rec.seq, reason="prev_hash does not match the previous "
                                  "record's hash")  # fmt: skip
            if rec.seq > self.prev.seq + 1 and self.gap is None:
                self.gap = BrokenLink(seq=self.prev.seq + 1, reason="record missing (deleted); "
                                      f"found seq {rec.seq} after {self.prev.seq}")  # fmt: skip
        self.count += 1
        self.first_seq = self.first_seq or rec.seq
        self.prev = ChainPoint(rec.seq, rec.hash)
        self.tenants.add(rec.tenant)
        self.digest.update(rec.hash.encode())
        return None

    def report(
        self, status: Status, broken: BrokenLink | None = None, seal: Seal | None = None
    ) -> FileReport:
        return FileReport(
            status=status,
            records=self.count,
            first_seq=self.first_seq,
            last_seq=self.prev.seq if self.prev else None,
            broken=broken,
            seal=seal,
        )
