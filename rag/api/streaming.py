"""Server-sent events for answers that stream, and what a client sees when a stream fails.

Once a stream has started its HTTP status is sent, so a failure becomes an ``error`` event
with the same JSON envelope as every other error, and never a stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, Protocol

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from rag.api.errors import error_payload
from rag.core.errors import RagtrustError
from rag.exchange import Outcome

log = logging.getLogger("ragtrust.stream")


class StreamHooks(Protocol):
    """What a stream reports on its way (the request's audit record and metrics)."""

    async def answered(self, outcome: Outcome) -> None: ...

    async def failed(self, status: int, code: str) -> None: ...

    def abandoned(self) -> None: ...


async def guarded(
    parts: AsyncGenerator[str | Outcome, None], request_id: str, hooks: StreamHooks
) -> AsyncGenerator[str | Outcome | RagtrustError, None]:
    """The parts, with the outcome recorded before it is sent (a record that cannot be
    written turns the answer into an error), a failure as a last ``RagtrustError`` item, and
    a client that went away recorded as such."""
    finished = False
    try:
        async with aclosing(parts):
            async for part in parts:
                if not isinstance(part, str):
                    await hooks.answered(part)
                yield part
        finished = True
    except Exception as exc:
        finished = True
        error = as_ragtrust_error(exc, request_id)
        await hooks.failed(error.status_code, error.code)
        yield error
    finally:
        if not finished:
            hooks.abandoned()


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def as_ragtrust_error(exc: Exception, request_id: str) -> RagtrustError:
    if isinstance(exc, RagtrustError):
        return exc
    log.error("request %s: unexpected %s", request_id, type(exc).__name__, exc_info=exc)
    return RagtrustError(f"internal error (request id {request_id})")


async def answer_events(
    parts: AsyncGenerator[str | Outcome, None], request_id: str, hooks: StreamHooks
) -> AsyncGenerator[bytes, None]:
    """``/v1/answer`` with ``stream``: ``delta`` events, then one ``answer`` event holding the
    whole response (what the non-streamed call returns), or an ``error`` event."""
    async with aclosing(guarded(parts, request_id, hooks)) as items:
        async for part in items:
            if isinstance(part, str):
                yield sse({"text": part}, "delta")
            elif isinstance(part, RagtrustError):
                yield sse(error_payload(part), "error")
            else:
                yield sse(part.response.model_dump(mode="json"), "answer")


class EventStream(StreamingResponse):
    """Server-sent events, closed when the response ends however it ends.

    Starlette stops iterating a stream whose client went away and leaves the generator to the
    garbage collector; until it runs, the LLM keeps generating for nobody, and a shutdown in
    between ended the process with the request's record unwritten. Closing it here runs
    ``guarded``'s ``abandoned`` before the request's task ends, which shutdown waits for."""

    def __init__(self, events: AsyncGenerator[bytes, None]) -> None:
        # No proxy buffering: each event should reach the client as it is produced.
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(events, media_type="text/event-stream", headers=headers)
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.events.aclose()
