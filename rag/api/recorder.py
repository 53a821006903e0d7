"""What every authenticated request leaves behind: one audit record (failed requests
included) and, for answers, its metrics.

The record is written before the answer is returned: an answer whose record could not be
written is not a success (the caller gets a 503, or an ``error`` event on a stream). It holds
only what left the boundary redacted — the question and answer as the LLM saw them, with
placeholders — never the raw text.

Requests refused by a key's rate limit are the exception: a flood of them, one row each under
SQLite's single write lock, would time out every other tenant's writes, which is what the
limit is there to prevent. Each key's refusals in one window are one record, whose
``requests`` says how many there were.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from audit.log import AuditLog
from audit.records import AuditEvent, AuditQuote
from rag.api.observability import Metrics
from rag.exchange import Outcome, Prepared
from rag.keys import Principal

log = logging.getLogger("ragtrust.audit")

CLIENT_CLOSED = ("client_closed_request", 499)  # nginx's code for a client that went away


@dataclass
class _Refusals:
    """One key's rate-limit refusals since ``since``: the first one's record, and a count."""

    event: AuditEvent
    since: float
    count: int = 1


class Recorder:
    def __init__(
        self,
        audit: AuditLog,
        metrics: Metrics,
        model: str,
        precision: str | None,
        refusal_window_s: float = 60,
    ) -> None:
        self.audit = audit
        self.metrics = metrics
        self.model = model
        self.precision = precision
        self.refusal_window_s = refusal_window_s
        self._pending: set[asyncio.Task[None]] = set()
        self._refusals: dict[tuple[str, str | None], _Refusals] = {}

    def start(self, caller: Principal, route: str, request_id: str) -> RequestRecord:
        return RequestRecord(self, caller, route, request_id)

    @asynccontextmanager
    async def running(self, drain_s: float) -> AsyncIterator[None]:
        """For the service's lifetime: write each window's refusals when it ends, and at
        shutdown whatever is still counted or being written."""
        flusher = asyncio.create_task(self._flush_forever())
        try:
            yield
        finally:
            flusher.cancel()
            self.flush_refusals(everything=True)
            await self.drain(drain_s)

    def refused(
        self, caller: Principal, route: str, request_id: str, status: int, code: str
    ) -> None:
        """A request the key's rate limit refused: counted, not written."""
        tally = self._refusals.get((caller.tenant, caller.key_id))
        if tally is not None:
            tally.count += 1
            return
        record = RequestRecord(self, caller, route, request_id)
        event = record._event(status="error", http_status=status, error_code=code)
        self._refusals[caller.tenant, caller.key_id] = _Refusals(event, time.monotonic())

    def flush_refusals(self, *, everything: bool = False) -> None:
        """One record for each key whose window has ended (every key's: ``everything``)."""
        now = time.monotonic()
        for key, tally in list(self._refusals.items()):
            if everything or now - tally.since >= self.refusal_window_s:
                del self._refusals[key]
                self.write_later(tally.event.model_copy(update={"requests": tally.count}))

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.refusal_window_s))
            self.flush_refusals()

    async def write(self, event: AuditEvent) -> None:
        await asyncio.to_thread(self.audit.append, event)

    def write_later(self, event: AuditEvent) -> None:
        """For a stream whose client went away (the generator is closing and cannot wait),
        and for counted refusals."""
        task = asyncio.get_running_loop().create_task(self._write_logged(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self, timeout_s: float) -> None:
        """Shutdown: wait for the records still being written, or the process would end
        with them (the event loop cancels what is left when the server returns)."""
        if not self._pending:
            return
        _, late = await asyncio.wait(set(self._pending), timeout=timeout_s)
        if late:
            log.error("%d audit records not written after %.0f s at shutdown", len(late), timeout_s)

    async def _write_logged(self, event: AuditEvent) -> None:
        try:
            await self.write(event)
        except Exception as exc:
            log.error("audit record of %s not written: %s", event.request_id, exc)


@dataclass
class RequestRecord:
    """One request's record, filled in as the request gets further."""

    recorder: Recorder
    caller: Principal
    route: str
    request_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    written: bool = False

    def _event(self, **fields: Any) -> AuditEvent:
        return AuditEvent(
            request_id=self.request_id,
            tenant=self.caller.tenant,
            key_id=self.caller.key_id,
            role=self.caller.role,
            route=self.route,
            **{**self.fields, **fields},
        )

    def prepared(self, prep: Prepared) -> None:
        self.fields.update(
            question=prep.safe.question,
            document_ids=list(dict.fromkeys(h.chunk.doc_id for h in prep.hits)),
            chunk_ids=[h.chunk.chunk_id for h in prep.hits],
            pii_counts=dict(prep.safe.entities),
            trust_preset=prep.preset,
        )

    async def answered(self, outcome: Outcome) -> None:
        r = outcome.response
        trust = r.trust
        await self.done(
            answer=outcome.redacted_answer,
            model=self.recorder.model,
            precision=self.recorder.precision,
            trust_score=trust.score if trust else None,
            trust_flagged=trust.flagged if trust else None,
            usage=r.usage.model_dump(),
            timings_ms=r.timings_ms,
            cost={"answer": r.cost.answer, "trust": r.cost.trust, "total": r.cost.total},
            quotes=[
                AuditQuote(**q.model_dump(exclude={"answer_start", "answer_end"}))
                for q in outcome.redacted_quotes
            ],
        )
        self.recorder.metrics.observe_answer(
            self.caller.tenant,
            preset=trust.preset if trust else "off",
            prompt_tokens=r.usage.prompt_tokens,
            completion_tokens=r.usage.completion_tokens,
            trust_tokens=r.usage.trust_tokens,
            trust_score=trust.score if trust else None,
            flagged=bool(trust and trust.flagged),
            pii_entities=r.privacy.entities,
            timings_ms=r.timings_ms,
        )

    async def done(self, **fields: Any) -> None:
        """The success record; raises DatabaseUnavailable when it cannot be written."""
        await self.recorder.write(self._event(**fields))
        self.written = True

    async def failed(self, status: int, code: str) -> None:
        """The failure record. Never raises: the caller is already reporting the failure."""
        if self.written:
            return
        self.written = True
        try:
            await self.recorder.write(
                self._event(status="error", http_status=status, error_code=code)
            )
        except Exception as write_error:
            log.error("audit record of failed %s not written: %s", self.request_id, write_error)

    def abandoned(self) -> None:
        """The client closed a stream before it ended."""
        if not self.written:
            self.written = True
            code, status = CLIENT_CLOSED
            event = self._event(status="error", http_status=status, error_code=code)
            self.recorder.write_later(event)
