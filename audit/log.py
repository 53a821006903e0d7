"""The audit log: appends records to per-tenant hash chains, verifies, exports and prunes them.

Appenders take turns per tenant on the tenant's chain-head row: on PostgreSQL a row lock
(``SELECT ... FOR UPDATE``), on SQLite the database's write lock (``BEGIN IMMEDIATE``), so
any number of threads and processes produce one gapless chain. The same transaction moves
the tenant's anchor (``AuditAnchorRow``), which the database lets only move forward: verify
requires head and anchor to agree, so an old head put back or a whole chain deleted shows.
Readers (verify, export) work on one snapshot and stream rows in batches, so a million
records never sit in memory; exports read pages by sequence number, one short transaction
each.
Database failures surface as ``DatabaseUnavailable``: a request whose record could not be
written must not be answered as a success.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    column,
    delete,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from audit import export as formats
from audit.chain import (
    GENESIS,
    BrokenLink,
    ChainCheck,
    ChainPoint,
    TenantReport,
    VerifyReport,
    anchor_fault,
    anchor_signature,
    checkpoint_signature,
    head_signature,
    record_hash,
    signature_ok,
)
from audit.records import (
    AuditAnchorRow,
    AuditCheckpointRow,
    AuditEvent,
    AuditHeadRow,
    AuditRow,
    ExportFormat,
    event_payload,
    from_row,
    iso,
)
from audit.seal import SealWriter
from rag.core.errors import DatabaseUnavailable, InvalidRequest
from rag.core.settings import Settings

RECORDS = cast(Table, AuditRow.__table__)
HEADS = cast(Table, AuditHeadRow.__table__)
CHECKPOINTS = cast(Table, AuditCheckpointRow.__table__)
ANCHORS = cast(Table, AuditAnchorRow.__table__)
# rag.tenants' table, read by name (audit sits below rag): a registered tenant is verified
# even when no audit table names it any more.
TENANTS = table("tenants", column("name"))
BATCH = 1000  # rows per fetch when streaming
DELETE_BATCH = 10_000  # records deleted per transaction by prune, so appenders never wait long
READ_FAILED = "the audit log cannot be read; check RAGTRUST_DATABASE_URL"


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


class AuditLog:
    def __init__(self, engine: Engine, signing_key: bytes) -> None:
        if not signing_key:
            raise ValueError("the audit signing key must not be empty")
        self._engine = engine
        self._key = signing_key
        self._sqlite = engine.dialect.name == "sqlite"
        self.page_size = BATCH  # records per export page (one short transaction each)

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> AuditLog:
        from audit.signing import signing_key

        return cls(engine, signing_key(settings))

    # -- writing ---------------------------------------------------------------------------

    def append(self, event: AuditEvent) -> str:
        """Add ``event`` to its tenant's chain; returns the new record's hash once committed.
        An event without a timestamp is stamped once the chain is locked: taken before, two
        appenders' times could land in the opposite order of their sequence numbers."""
        try:
            with self._write() as conn:
                head = self._lock_head(conn, event.tenant)
                if event.timestamp is None:
                    event = event.model_copy(update={"timestamp": datetime.now(UTC)})
                payload = event_payload(event)
                values = {**payload, "timestamp": event.timestamp}
                seq = head.seq + 1
                digest = record_hash(payload, seq, head.hash)
                conn.execute(
                    insert(RECORDS), {**values, "seq": seq, "prev_hash": head.hash, "hash": digest}
                )
                conn.execute(
                    update(HEADS)
                    .where(HEADS.c.tenant == event.tenant)
                    .values(seq=seq, hash=digest,
                            signature=head_signature(self._key, event.tenant, seq, digest))
                )  # fmt: skip
                self._move_anchor(conn, event.tenant, seq, digest)
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(
                "the audit record could not be written; check RAGTRUST_DATABASE_URL"
            ) from exc
        return digest

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that holds the write lock (SQLite) from its first statement, so that
        no other writer's commit can slip between reading the head and moving it."""
        with self._engine.connect() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
            conn.commit()

    def _move_anchor(self, conn: Connection, tenant: str, seq: int, digest: str) -> None:
        """The anchor follows the head, in its transaction (which holds the tenant's lock, so
        update-else-insert cannot race). After an old head was put back this fails: the
        triggers refuse to move the anchor back, and the tenant's appends stop."""
        values = {"seq": seq, "hash": digest,
                  "signature": anchor_signature(self._key, tenant, seq, digest)}  # fmt: skip
        moved = conn.execute(update(ANCHORS).where(ANCHORS.c.tenant == tenant).values(values))
        if moved.rowcount == 0:
            conn.execute(insert(ANCHORS), {"tenant": tenant, "pruned_to": 0, **values})

    def _lock_head(self, conn: Connection, tenant: str) -> ChainPoint:
        query = select(HEADS.c.seq, HEADS.c.hash).where(HEADS.c.tenant == tenant).with_for_update()
        row = conn.execute(query).one_or_none()
        if row is None:  # a new tenant: two first appends may race; one insert wins
            insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            genesis = head_signature(self._key, tenant, 0, GENESIS)
            conn.execute(
                insert_(HEADS)
                .values(tenant=tenant, seq=0, hash=GENESIS, signature=genesis)
                .on_conflict_do_nothing(index_elements=["tenant"])
            )
            row = conn.execute(query).one()
        return ChainPoint(int(row.seq), str(row.hash))

    # -- reading ---------------------------------------------------------------------------

    def _begin_read(self, conn: Connection) -> None:
        """Make ``conn``'s next transaction see one consistent state of every table."""
        if self._sqlite:
            conn.exec_driver_sql("BEGIN")
        else:
            conn.execution_options(isolation_level="REPEATABLE READ")

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                self._begin_read(conn)
                yield conn
                conn.rollback()
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(READ_FAILED) from exc

    def tenants(self) -> list[str]:
        with self._snapshot() as conn:
            return self._tenants(conn)

    def _tenants(self, conn: Connection) -> list[str]:
        # UNION drops duplicates; a tenant whose head was deleted still shows by its records,
        # and one whose head, records and checkpoints all were by its anchor.
        names = select(HEADS.c.tenant).union(
            select(RECORDS.c.tenant),
            select(CHECKPOINTS.c.tenant),
            select(ANCHORS.c.tenant),
            select(TENANTS.c.name),
        )
        return sorted(conn.scalars(names))

    def verify(self, tenant: str | None = None) -> VerifyReport:
        """Recompute every chain (or one tenant's) and report the first broken link of each."""
        with self._snapshot() as conn:
            names = [tenant] if tenant else self._tenants(conn)
            reports = [self._verify_tenant(conn, name) for name in names]
        return VerifyReport(ok=all(r.ok for r in reports), tenants=reports)

    def _verify_tenant(self, conn: Connection, tenant: str) -> TenantReport:
        cp = self._checkpoint(conn, tenant)
        cp_seq = None if cp is None else int(cp.seq)
        start = ChainPoint() if cp is None else ChainPoint(int(cp.seq), cp.hash)
        pruned = 0 if cp is None else int(cp.count)
        check = ChainCheck(start)
        if cp is not None:
            expected = checkpoint_signature(
                self._key, tenant, start.seq, start.hash, pruned, iso(_utc(cp.created_at))
            )
            if not signature_ok(expected, cp.signature):
                check.broken = BrokenLink(seq=start.seq, reason="checkpoint signature is invalid")
                return check.report(tenant, cp_seq)
        if check.feed(self._rows(conn, tenant, after=start.seq)):
            head = conn.execute(select(HEADS).where(HEADS.c.tenant == tenant)).one_or_none()
            anchor = conn.execute(select(ANCHORS).where(ANCHORS.c.tenant == tenant)).one_or_none()
            if head is None:
                if check.records or cp is not None or anchor is not None:
                    check.broken = BrokenLink(seq=start.seq, reason="chain head is missing")
            elif not signature_ok(
                head_signature(self._key, tenant, int(head.seq), head.hash), head.signature
            ):
                check.broken = BrokenLink(seq=int(head.seq), reason="chain head signature is "
                                          "invalid")  # fmt: skip
            elif check.end(int(head.seq), head.hash):
                check.broken = anchor_fault(self._key, tenant, head, anchor, cp_seq or 0)
        return check.report(tenant, cp_seq, pruned)

    def _checkpoint(self, conn: Connection, tenant: str) -> Any:
        query = (
            select(CHECKPOINTS)
            .where(CHECKPOINTS.c.tenant == tenant)
            .order_by(CHECKPOINTS.c.seq.desc())
            .limit(1)
        )
        return conn.execute(query).one_or_none()

    def _rows(
        self, conn: Connection, tenant: str, after: int, upto: int | None = None
    ) -> Iterator[dict[str, Any]]:
        query = select(RECORDS).where(RECORDS.c.tenant == tenant, RECORDS.c.seq > after)
        if upto is not None:
            query = query.where(RECORDS.c.seq <= upto)
        for row in conn.execution_options(yield_per=BATCH).execute(query.order_by(RECORDS.c.seq)):
            yield from_row(row)

    def _range(
        self, query: Select[Any], tenant: str, start: datetime | None, end: datetime | None
    ) -> Select[Any]:
        query = query.where(RECORDS.c.tenant == tenant)
        if start is not None:
            query = query.where(RECORDS.c.timestamp >= _utc(start))
        if end is not None:
            query = query.where(RECORDS.c.timestamp < _utc(end))
        return query

    def count(self, tenant: str, start: datetime | None = None, end: datetime | None = None) -> int:
        """How many records an export of the same range yields (for progress bars)."""
        with self._snapshot() as conn:
            return int(conn.scalar(self._range(select(func.count()), tenant, start, end)) or 0)

    def export(
        self,
        tenant: str,
        start: datetime | None = None,
        end: datetime | None = None,
        fmt: ExportFormat = "jsonl",
    ) -> Iterator[str]:
        """The tenant's records with ``start <= timestamp < end``, in chain order, one line
        each. Read in pages of ``page_size`` by sequence number, each in a short transaction
        of its own, so that an export read slowly holds no database connection between
        pages (a dozen idle exports would otherwise empty the pool every request needs).
        The export ends at the chain head as it was when the first page was read, and then
        with its signed seal (``audit.seal``); the first page is read now, so a database
        error is raised before a response has begun."""
        if start and end and _utc(start) > _utc(end):
            raise InvalidRequest("'from' must not be later than 'to'")
        query = self._range(select(RECORDS), tenant, start, end).order_by(RECORDS.c.seq)
        with self._snapshot() as conn:
            head = conn.execute(
                select(HEADS.c.seq, HEADS.c.hash).where(HEADS.c.tenant == tenant)
            ).one_or_none()
            if head is not None:
                query = query.where(RECORDS.c.seq <= head.seq)
            first = self._page(conn, query, 0)
        at = ChainPoint(int(head.seq), head.hash) if head is not None else ChainPoint()
        sealer = SealWriter(tenant, start and _utc(start), end and _utc(end), at)

        def records() -> Iterator[dict[str, Any]]:
            page = first
            while page:
                yield from page
                if len(page) < self.page_size:
                    return
                with self._snapshot() as conn:
                    page = self._page(conn, query, int(page[-1]["seq"]))

        return formats.lines(sealer.watch(records()), fmt, lambda: sealer.seal(self._key))

    def _page(self, conn: Connection, query: Select[Any], after: int) -> list[dict[str, Any]]:
        rows = conn.execute(query.where(RECORDS.c.seq > after).limit(self.page_size))
        return [from_row(row) for row in rows]

    # -- retention -------------------------------------------------------------------------

    def prune(self, before: datetime, tenant: str | None = None) -> dict[str, int]:
        """Delete records older than ``before`` and leave a signed checkpoint of the last one,
        so the remaining chain still verifies. The pruned segment is verified first: a broken
        chain is never signed over. Returns the records deleted per tenant."""
        before = _utc(before)
        names = [tenant] if tenant else self.tenants()
        return {name: self._prune_tenant(name, before) for name in names}

    def _prune_tenant(self, tenant: str, before: datetime) -> int:
        with self._snapshot() as conn:
            report = self._verify_tenant(conn, tenant)
            if report.broken is not None:
                raise InvalidRequest(
                    f"tenant {tenant}: the audit chain is broken at seq {report.broken.seq} "
                    f"({report.broken.reason}); nothing was pruned"
                )
            start_seq = report.checkpoint_seq or 0
            first_kept = conn.scalar(
                select(func.min(RECORDS.c.seq)).where(
                    RECORDS.c.tenant == tenant,
                    RECORDS.c.seq > start_seq,
                    RECORDS.c.timestamp >= before,
                )
            )
            last = int(first_kept) - 1 if first_kept is not None else report.last_seq or 0
            if last <= start_seq:
                return 0
            row = conn.execute(
                select(RECORDS.c.hash).where(RECORDS.c.tenant == tenant, RECORDS.c.seq == last)
            ).one()
        count = report.pruned + last - start_seq
        created = datetime.now(UTC)
        signature = checkpoint_signature(self._key, tenant, last, row.hash, count, iso(created))
        try:
            with self._write() as conn:
                self._lock_head(conn, tenant)  # one prune of a tenant at a time
                current = self._checkpoint(conn, tenant)
                if (int(current.seq) if current is not None else 0) != start_seq:
                    raise InvalidRequest(f"tenant {tenant} was pruned concurrently; run again")
                conn.execute(
                    insert(CHECKPOINTS),
                    {"tenant": tenant, "seq": last, "hash": row.hash, "count": count,
                     "created_at": created, "signature": signature},
                )  # fmt: skip
                conn.execute(
                    update(ANCHORS).where(ANCHORS.c.tenant == tenant).values(pruned_to=last)
                )
            # Records under a checkpoint are outside the chain: deleting them in batches
            # keeps every transaction short.
            for upto in range(start_seq + DELETE_BATCH, last + DELETE_BATCH, DELETE_BATCH):
                with self._write() as conn:
                    conn.execute(
                        delete(RECORDS).where(
                            RECORDS.c.tenant == tenant, RECORDS.c.seq <= min(upto, last)
                        )
                    )
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable("pruning the audit log failed; run it again") from exc
        return last - start_seq
