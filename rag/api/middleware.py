"""ASGI middleware: a request id on every request, a hard cap on request body size, the
budget of requests that do not authenticate, and the admission of each key's requests.

The body cap is enforced while the body streams in, not by trusting Content-Length, so a
chunked upload cannot bypass it.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.admission import KeyAdmissionMiddleware
from rag.api.errors import error_response
from rag.api.ratelimit import AnonymousLimitMiddleware


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = f"req_{uuid.uuid4().hex[:20]}"
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodySizeLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default = max_bytes
        self.per_path = per_path or {}  # path prefix -> limit (document uploads are larger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next((n for p, n in self.per_path.items() if path.startswith(p)), self.default)
        too_large = f"request body larger than {limit} bytes"
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(too_large, scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException passes FastAPI's body parsing unchanged, so the
                    # route answers 413 rather than "error parsing the body".
                    raise HTTPException(413, too_large)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except HTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            await self._reject(too_large, scope, receive, send)

    async def _reject(self, message: str, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, message, "body_too_large")
        await response(scope, receive, send)


def limits(
    max_body_bytes: int,
    per_path: dict[str, int] | None = None,
    anonymous_rate: str = "",
    max_in_flight_per_key: int = 16,
    rate_limit_storage_url: str = "",
) -> list[tuple[type, dict[str, Any]]]:
    """Middleware in the order they wrap the app (outermost last). A body over its declared
    limit is refused before its key is looked up; a key's request before its body is read."""
    return [
        (KeyAdmissionMiddleware, {"max_in_flight": max_in_flight_per_key}),
        (BodySizeLimitMiddleware, {"max_bytes": max_body_bytes, "per_path": per_path}),
        (AnonymousLimitMiddleware, {"rate": anonymous_rate, "storage_url": rate_limit_storage_url}),
        (RequestIdMiddleware, {}),
    ]
