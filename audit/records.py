"""What one audit record holds, and the four tables that keep the log tamper-evident.

``AuditEvent`` is what a route hands to the log: every field compliance asks about, with the
question and answer already redacted (placeholders only; the log stores what it is given and
never sees raw text). ``AuditRecord`` adds the chain fields the log assigns.

Lists and dicts are stored as canonical JSON text rather than a JSON column type, so that
what is hashed reads back byte-identical on SQLite and on PostgreSQL (JSONB would reorder).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rag.core.db import Base

# SQLite only auto-numbers INTEGER, PostgreSQL needs BIGINT for a long-lived log.
Seq = BigInteger().with_variant(Integer(), "sqlite")


class AuditRow(Base):
    """One request's record; ``(tenant, seq)`` numbers each tenant's chain without gaps, so
    a deleted row shows as a missing number."""

    __tablename__ = "audit_records"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    request_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8))
    http_status: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    document_ids: Mapped[str] = mapped_column(Text)
    chunk_ids: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    precision: Mapped[str | None] = mapped_column(String(16))
    trust_score: Mapped[float | None] = mapped_column(Float)
    trust_flagged: Mapped[bool | None] = mapped_column(Boolean)
    trust_preset: Mapped[str | None] = mapped_column(String(16))
    pii_counts: Mapped[str] = mapped_column(Text)
    usage: Mapped[str] = mapped_column(Text)
    timings_ms: Mapped[str] = mapped_column(Text)
    cost: Mapped[str] = mapped_column(Text)
    quotes: Mapped[str] = mapped_column(Text, server_default="[]")
    requests: Mapped[int] = mapped_column(Integer, server_default="1")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_records_tenant_timestamp", "tenant", "timestamp"),)


class AuditHeadRow(Base):
    """Each tenant's chain head: the row appenders lock to take turns, and a signed claim of
    the last sequence number, so that deleting the newest records is detected too."""

    __tablename__ = "audit_heads"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    seq: Mapped[int] = mapped_column(Seq)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))


class AuditAnchorRow(Base):
    """Each tenant's chain anchor: a second, signed copy of the head that the database lets
    move forward only (migration 0004's triggers refuse a DELETE, and an UPDATE or INSERT
    that lowers ``seq`` or ``pruned_to`` or changes the hash at the same seq). A head row
    restored from an older backup, or deleted with every record, no longer matches it.
    ``signature`` (over tenant, seq and hash) is "" only on anchors that migration 0004
    copied from existing heads, as it has no key; the triggers refuse "" in any later
    write."""

    __tablename__ = "audit_anchors"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    seq: Mapped[int] = mapped_column(Seq)
    hash: Mapped[str] = mapped_column(String(64))
    pruned_to: Mapped[int] = mapped_column(Seq)  # the newest checkpoint's seq; 0: none
    signature: Mapped[str] = mapped_column(String(64))


class AuditCheckpointRow(Base):
    """A signed statement written by ``prune``: records up to ``seq`` existed, verified, and
    the last of them hashed to ``hash``; verification starts from the newest one."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(63), index=True)
    seq: Mapped[int] = mapped_column(Seq)
    hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Seq)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signature: Mapped[str] = mapped_column(String(64))


class AuditQuote(BaseModel):
    """A quote the answer rests on: where it is in which chunk, and its text redacted.

    The API's ``Quote`` less its offsets into the answer (which do not hold in the redacted
    one); kept apart from it because a hashed record's format must not follow API changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: int = Field(description="The answer's [n] for the chunk.")
    document_id: str
    chunk_id: str
    start: int = Field(description="Character offsets of the quote in the chunk's text.")
    end: int
    text: str = Field(description="Redacted: PII replaced by placeholders.")
    support: float


class AuditEvent(BaseModel):
    """One request as the route saw it. Optional text is None, never "", so that a CSV
    export (where both would be an empty cell) round-trips exactly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timestamp: datetime | None = Field(
        None,
        description="None: the log stamps the time under the chain lock, so that records of "
        "one tenant are in time order as they are in sequence order.",
    )
    request_id: str = Field(max_length=64)
    tenant: str = Field(min_length=1, max_length=63)
    key_id: str | None = Field(None, max_length=16)
    role: str | None = Field(None, max_length=16)
    route: str = Field(max_length=200)
    status: Literal["ok", "error"] = "ok"
    http_status: int = 200
    error_code: str | None = Field(None, max_length=64)
    question: str = Field("", description="Redacted: PII replaced by placeholders.")
    answer: str = Field("", description="Redacted: PII replaced by placeholders.")
    document_ids: list[str] = Field(default_factory=list)
    chunk_ids: list[str] = Field(default_factory=list)
    model: str | None = Field(None, max_length=200)
    precision: str | None = Field(None, max_length=16)
    trust_score: float | None = None
    trust_flagged: bool | None = None
    trust_preset: str | None = Field(None, max_length=16)
    pii_counts: dict[str, int] = Field(default_factory=dict, description="Entities by type.")
    usage: dict[str, int] = Field(default_factory=dict, description="Tokens by kind.")
    timings_ms: dict[str, float] = Field(default_factory=dict, description="By stage.")
    cost: dict[str, float] = Field(default_factory=dict)
    quotes: list[AuditQuote] = Field(default_factory=list, description="What the answer quotes.")
    requests: int = Field(
        1,
        ge=1,
        description="How many requests the record stands for: 1, or all the requests of one "
        "key refused by its rate limit in one window (``request_id`` is the first of them).",
    )

    @field_validator("timestamp")
    @classmethod
    def _utc_microseconds(cls, value: datetime | None) -> datetime | None:
        # Both databases keep microseconds; a naive time is taken as UTC.
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("key_id", "role", "error_code", "model", "precision", "trust_preset")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class AuditRecord(AuditEvent):
    """A stored record: the event plus its place in the tenant's chain."""

    timestamp: datetime
    seq: int
    prev_hash: str
    hash: str


EVENT_FIELDS: tuple[str, ...] = tuple(AuditEvent.model_fields)
RECORD_FIELDS: tuple[str, ...] = (*EVENT_FIELDS, "seq", "prev_hash", "hash")
JSON_FIELDS = frozenset(
    {"document_ids", "chunk_ids", "pii_counts", "usage", "timings_ms", "cost", "quotes"}
)
ADDED_LATER: dict[str, Any] = {"quotes": "[]", "requests": 1}
"""Fields the log gained after its first records, with their stored empty value: a record
holding that value is hashed without the field, so chains written before it verify as they
did (and a quote list later emptied or added still breaks its record's hash)."""

ExportFormat = Literal["jsonl", "csv"]


# One encoder for every call: json.dumps with options builds a new one each time, which is
# most of the cost of hashing a record.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept; floats as Python's shortest repr."""
    return _CANONICAL.encode(value)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


# The "stored form" of a record is what is hashed and exported: scalars as they are, the
# timestamp in ISO 8601 (UTC, microseconds), lists and dicts as their canonical JSON text.
# Rows read back need no JSON parsing to be verified or exported.


def row_values(event: AuditEvent) -> dict[str, Any]:
    """Column values of the event for an insert into ``audit_records``."""
    values = event.model_dump(include=set(EVENT_FIELDS))
    for name in JSON_FIELDS:
        values[name] = dumps(values[name])
    return values


def event_payload(event: AuditEvent) -> dict[str, Any]:
    """The event's stored form."""
    if event.timestamp is None:
        raise ValueError("an event is stamped before its stored form is taken")
    values = row_values(event)
    values["timestamp"] = iso(event.timestamp)
    return values


def from_row(row: Any) -> dict[str, Any]:
    """A selected ``audit_records`` row in stored form (chain fields included)."""
    data: dict[str, Any] = row._asdict()
    ts: datetime = data["timestamp"]
    data["timestamp"] = iso(ts if ts.tzinfo else ts.replace(tzinfo=UTC))
    return data
