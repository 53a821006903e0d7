"""What every authenticated request leaves behind: one audit record (failed requests
included) and, for answers, its metrics.

The record is written before the answer is returned: an answer whose record could not be
written is not a success (the caller gets a 503, or an ``error`` event on a stream). It holds
only what left the boundary redacted — the question and answer as the LLM saw them, with
placeholders — never the raw text.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from audit.log import AuditLog
from audit.records import AuditEvent, AuditQuote
from rag.api.observability import Metrics
from rag.exchange import Outcome, Prepared
from rag.keys import Principal

log = logging.getLogger("ragtrust.audit")

CLIENT_CLOSED = ("client_closed_request", 499)  # nginx's code for a client that went away


class Recorder:
    def __init__(
        self, audit: AuditLog, metrics: Metrics, model: str, precision: str | None
    ) -> None:
        self.audit = audit
        self.metrics = metrics
        self.model = model
        self.precision = precision
        self._pending: set[asyncio.Task[None]] = set()

    def start(self, caller: Principal, route: str, request_id: str) -> RequestRecord:
        return RequestRecord(self, caller, route, request_id)

    async def write(self, event: AuditEvent) -> None:
        await asyncio.to_thread(self.audit.append, event)

    def write_later(self, event: AuditEvent) -> None:
        """For a stream whose client went away: the generator is closing and cannot wait."""
        task = asyncio.get_running_loop().create_task(self._write_logged(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

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
