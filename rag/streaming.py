"""Server-sent events for answers that stream, and what a client sees when a stream fails.

Once a stream has started its HTTP status is sent, so a failure becomes an ``error`` event
with the same JSON envelope as every other error, and never a stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from rag.errors import RagtrustError
from rag.pipeline import Outcome

log = logging.getLogger("ragtrust.stream")

OutcomeHook = Callable[[Outcome], Awaitable[None]]


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def error_payload(exc: RagtrustError) -> dict[str, Any]:
    return {"error": {"message": exc.message, "type": exc.type, "code": exc.code}}


def as_ragtrust_error(exc: Exception, request_id: str) -> RagtrustError:
    if isinstance(exc, RagtrustError):
        return exc
    log.error("request %s: unexpected %s", request_id, type(exc).__name__, exc_info=exc)
    return RagtrustError(f"internal error (request id {request_id})")


async def answer_events(
    parts: AsyncIterator[str | Outcome], request_id: str, on_outcome: OutcomeHook | None = None
) -> AsyncIterator[bytes]:
    """``/v1/answer`` with ``stream``: ``delta`` events, then one ``answer`` event holding the
    whole response (what the non-streamed call returns), or an ``error`` event."""
    try:
        async for part in parts:
            if isinstance(part, str):
                yield sse({"text": part}, "delta")
                continue
            if on_outcome is not None:
                await on_outcome(part)
            yield sse(part.response.model_dump(mode="json"), "answer")
    except Exception as exc:
        yield sse(error_payload(as_ragtrust_error(exc, request_id)), "error")
