"""One error envelope for every failure, ``{"error": {"message", "type", "code"}}``.

The handlers never echo request text (it may hold PII) and never let a stack trace reach a
client: unexpected exceptions are logged with the request id and answered with a generic 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.core.errors import DatabaseUnavailable, RagtrustError, Unauthorized

log = logging.getLogger("ragtrust.http")

# A database that is down or unreachable (not a bug such as an integrity error), or whose
# connection pool has none free within its timeout: a 503 the caller may retry.
DATABASE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_response(
    status: int,
    message: str,
    code: str,
    type_: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = envelope(message, code, type_ or _STATUS_TYPES.get(status, "server_error"))
    return JSONResponse(body, status_code=status, headers=headers)


def envelope(message: str, code: str, type_: str) -> dict[str, Any]:
    """The body of every error: a JSON response's, and a stream's error event's."""
    return {"error": {"message": message, "type": type_, "code": code}}


def error_payload(exc: RagtrustError) -> dict[str, Any]:
    return envelope(exc.message, exc.code, exc.type)


async def _ragtrust_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RagtrustError)
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if exc.status_code >= 500:
        log.warning("request %s failed: %s", _rid(request), exc.code)
    return error_response(exc.status_code, exc.message, exc.code, exc.type, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    message = "invalid request: " + "; ".join(problems)
    return error_response(422, message, "validation_error")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
        exc.status_code, "http_error"
    )
    return error_response(exc.status_code, str(exc.detail), code, headers=exc.headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.warning("request %s: database unavailable (%s)", _rid(request), type(exc).__name__)
    error = DatabaseUnavailable("the database is unavailable; retry shortly")
    return await _ragtrust_error(request, error)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("request %s: unexpected %s", _rid(request), type(exc).__name__, exc_info=exc)
    return error_response(
        500, f"internal error (request id {_rid(request)})", "internal_error", "server_error"
    )


def _rid(request: Request) -> str:
    return getattr(request.state, "request_id", "-")


Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


FailureHook = Callable[[Request, int, str], Awaitable[None]]


def install(app: FastAPI, on_failure: FailureHook) -> None:
    """``on_failure`` sees every failed request, with the status and error code it is
    answered with, once its error response is built (the audit log records failures too)."""

    def reporting(handler: Handler) -> Handler:
        async def handle(request: Request, exc: Exception) -> JSONResponse:
            response = await handler(request, exc)
            code = json.loads(bytes(response.body))["error"]["code"]
            await on_failure(request, response.status_code, code)
            return response

        return handle

    app.add_exception_handler(RagtrustError, reporting(_ragtrust_error))
    app.add_exception_handler(RequestValidationError, reporting(_validation_error))
    app.add_exception_handler(StarletteHTTPException, reporting(_http_error))
    for db_error in DATABASE_ERRORS:
        app.add_exception_handler(db_error, reporting(_database_error))
    app.add_exception_handler(Exception, reporting(_unexpected))
