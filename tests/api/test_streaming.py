"""A stream whose client goes away is recorded as abandoned before its response returns, not
whenever the garbage collector closes the generator (a shutdown in between lost the record)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest
from starlette.types import Message

from rag.api import chat
from rag.api.streaming import EventStream, answer_events
from rag.exchange import Outcome


class Hooks:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def answered(self, outcome: Outcome) -> None:
        self.calls.append("answered")

    async def failed(self, status: int, code: str) -> None:
        self.calls.append("failed")

    def abandoned(self) -> None:
        self.calls.append("abandoned")


async def _tokens(closed: list[bool]) -> AsyncGenerator[str | Outcome, None]:
    try:
        for i in range(100):
            yield f"token {i} "
    finally:
        closed.append(True)


async def _receive() -> Message:
    await asyncio.Event().wait()  # as a server's: nothing until the connection closes
    raise AssertionError("unreachable")


def _chat_chunks(
    parts: AsyncGenerator[str | Outcome, None], request_id: str, hooks: Hooks
) -> AsyncGenerator[bytes, None]:
    return chat.chunks(parts, request_id, hooks, include_usage=False)


@pytest.mark.parametrize("events", [answer_events, _chat_chunks], ids=["answer", "chat"])
@pytest.mark.parametrize("spec_version", ["2.4", "2.3"])
async def test_client_gone_is_recorded_before_the_response_returns(
    events: Callable[..., AsyncGenerator[bytes, None]], spec_version: str
) -> None:
    hooks, closed = Hooks(), []
    sent: list[Message] = []

    async def send(message: Message) -> None:
        if len(sent) == 2:  # the head and one event, then the connection is gone
            raise OSError("connection reset")
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "asgi": {"spec_version": spec_version}}
    response = EventStream(events(_tokens(closed), "req_1", hooks))
    with pytest.raises(Exception):  # noqa: B017 - Starlette's ClientDisconnect, or the OSError
        await response(scope, _receive, send)
    assert hooks.calls == ["abandoned"]
    assert closed == [True]  # and the LLM's stream is closed: no tokens generated for nobody
