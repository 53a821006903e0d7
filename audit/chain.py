"""The hash chain: how a record's hash is computed, how heads and checkpoints are signed, and
how a tenant's chain is checked link by link.

Each record's hash covers its every field, its sequence number and the previous record's
hash, so editing a field breaks that record and deleting one leaves a gap in the numbers.
A plain hash chain can still be recomputed by whoever can write the database, and its tail
cut off unnoticed; the chain head and each prune checkpoint are therefore signed with an
HMAC key the database does not hold. The checks are plain functions over records so that
an exported file can be verified the same way as the live table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from pydantic import BaseModel

from audit.records import ADDED_LATER, EVENT_FIELDS, JSON_FIELDS, dumps

GENESIS = "0" * 64


_HASHED = sorted((*EVENT_FIELDS, "seq", "prev_hash"))
_KEYS = {name: json.dumps(name) for name in _HASHED}


def _scalar(value: Any) -> str:
    """``dumps`` of a scalar, without the encoder's per-call overhead (verify runs this
    twenty times per record)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int):
        return int.__repr__(value)
    return dumps(value)


def record_hash(stored: Mapping[str, Any], seq: int, prev_hash: str) -> str:
    """SHA-256 of the canonical JSON (``dumps``) of the record's event fields, its seq and
    prev_hash. ``stored`` holds lists and dicts as their canonical JSON text, which is
    spliced in as it is: the result equals ``dumps`` of the parsed record, without parsing.
    A field in ``ADDED_LATER`` holding its empty value is left out, as it was before it
    existed."""
    values = {**stored, "seq": seq, "prev_hash": prev_hash}
    body = ",".join(
        f"{_KEYS[name]}:{values[name] if name in JSON_FIELDS else _scalar(values[name])}"
        for name in _HASHED
        if name not in ADDED_LATER or values.get(name, ADDED_LATER[name]) != ADDED_LATER[name]
    )
    return hashlib.sha256(f"{{{body}}}".encode()).hexdigest()


def sign(key: bytes, kind: str, **fields: Any) -> str:
    """HMAC-SHA256 over the canonical JSON of ``fields``; ``kind`` keeps a head signature
    from passing as a checkpoint's, an anchor's or an export seal's."""
    return hmac.new(key, dumps({"kind": kind, **fields}).encode(), hashlib.sha256).hexdigest()


def head_signature(key: bytes, tenant: str, seq: int, hash_: str) -> str:
    return sign(key, "head", tenant=tenant, seq=seq, hash=hash_)


def anchor_signature(key: bytes, tenant: str, seq: int, hash_: str) -> str:
    """Over what the head's signature covers, but of another kind: a head's signature copied
    into the anchor (or back) does not pass. ``pruned_to`` is left out; only the database's
    triggers guard it (it may only grow), so that an append need not read it to sign."""
    return sign(key, "anchor", tenant=tenant, seq=seq, hash=hash_)


def checkpoint_signature(
    key: bytes, tenant: str, seq: int, hash_: str, count: int, created_at: str
) -> str:
    return sign(
        key, "checkpoint", tenant=tenant, seq=seq, hash=hash_, count=count, created_at=created_at
    )


def signature_ok(expected: str, found: str) -> bool:
    return hmac.compare_digest(expected, found)


@dataclass(frozen=True)
class ChainPoint:
    """Where a chain segment starts: the genesis, or a checkpoint's last pruned record."""

    seq: int = 0
    hash: str = GENESIS


class BrokenLink(BaseModel):
    """The first place a tenant's chain fails; ``seq`` is the record that is wrong or
    missing (for a checkpoint or head: the seq it claims)."""

    seq: int
    reason: str


class TenantReport(BaseModel):
    tenant: str
    ok: bool
    records: int  # records checked (after the checkpoint)
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoint_seq: int | None = None
    pruned: int = 0  # records before the checkpoint, deleted by prune
    broken: BrokenLink | None = None


class VerifyReport(BaseModel):
    ok: bool
    tenants: list[TenantReport]

    @property
    def first_broken(self) -> TenantReport | None:
        return next((t for t in self.tenants if not t.ok), None)


@dataclass
class ChainCheck:
    """Walks one tenant's records in seq order from a start and stops at the first fault."""

    start: ChainPoint
    records: int = 0
    first_seq: int | None = None
    last: ChainPoint | None = None
    broken: BrokenLink | None = None

    def feed(self, payloads: Iterable[Mapping[str, Any]]) -> bool:
        """Checks each record (in stored form, see ``audit.records``); False once broken."""
        prev = self.last or self.start
        for rec in payloads:
            seq = int(rec["seq"])
            if seq != prev.seq + 1:
                what = "missing (deleted)" if seq > prev.seq + 1 else "out of order or duplicated"
                gap = prev.seq + 1 if seq > prev.seq + 1 else seq
                return self._break(gap, f"record {what}; found seq {seq} after {prev.seq}")
            if rec["prev_hash"] != prev.hash:
                return self._break(seq, "prev_hash does not match the previous record's hash")
            if record_hash(rec, seq, prev.hash) != rec["hash"]:
                return self._break(seq, "record altered: its hash does not match its fields")
            self.records += 1
            self.first_seq = self.first_seq or seq
            prev = self.last = ChainPoint(seq, rec["hash"])
        return True

    def end(self, head_seq: int, head_hash: str) -> bool:
        """The chain must end exactly at the signed head: anything short of it was cut off."""
        last = self.last or self.start
        if self.broken:
            return False
        if head_seq > last.seq:
            return self._break(last.seq + 1, f"records {last.seq + 1}..{head_seq} missing")
        if head_seq < last.seq:
            return self._break(head_seq + 1, "records beyond the signed chain head")
        if head_hash != last.hash:
            return self._break(last.seq, "chain head hash does not match the last record")
        return True

    def _break(self, seq: int, reason: str) -> bool:
        self.broken = BrokenLink(seq=seq, reason=reason)
        return False

    def report(self, tenant: str, checkpoint: int | None = None, pruned: int = 0) -> TenantReport:
        return TenantReport(
            tenant=tenant,
            ok=self.broken is None,
            records=self.records,
            first_seq=self.first_seq,
            last_seq=self.last.seq if self.last else None,
            checkpoint_seq=checkpoint,
            pruned=pruned,
            broken=self.broken,
        )


def anchor_fault(
    key: bytes, tenant: str, head: Any, anchor: Any | None, pruned_to: int
) -> BrokenLink | None:
    """Head and anchor rows (``seq``, ``hash``; the anchor's ``pruned_to`` and ``signature``)
    must agree, and ``pruned_to`` be the newest checkpoint's seq. The anchor only moves
    forward, so a head behind it was put back (from a backup, say) after the records past it
    were deleted. An anchor without a signature was backfilled by migration 0004."""
    head_seq = int(head.seq)
    if anchor is None:
        if head_seq == 0 and not pruned_to:
            return None  # a head that never moved: the tenant never had a record
        return BrokenLink(seq=head_seq, reason="chain anchor is missing")
    seq = int(anchor.seq)
    expected = anchor_signature(key, tenant, seq, anchor.hash)
    if anchor.signature and not signature_ok(expected, anchor.signature):
        return BrokenLink(seq=seq, reason="chain anchor signature is invalid")
    if seq > head_seq:
        return BrokenLink(
            seq=head_seq + 1,
            reason=f"records {head_seq + 1}..{seq} missing: the chain head is older than "
            "its anchor (restored from a backup?)",
        )
    if seq < head_seq:
        return BrokenLink(seq=seq + 1, reason="chain head is ahead of its anchor")
    if anchor.hash != head.hash:
        return BrokenLink(seq=seq, reason="chain head hash does not match its anchor")
    if int(anchor.pruned_to) != pruned_to:
        return BrokenLink(
            seq=pruned_to,
            reason=f"newest checkpoint is at seq {pruned_to}, its anchor says "
            f"{int(anchor.pruned_to)} (a checkpoint deleted or put back?)",
        )
    return None
