"""Who may call what: the API key decides the tenant and the role; the route names the
permission it needs; each key has its own request budget.

The tenant is never taken from anything the caller could choose per request, so a key of
tenant A has no way to name tenant B.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag.api.deps import StateDep
from rag.api.recorder import RequestRecord
from rag.core.errors import Forbidden, RateLimited, Unauthorized
from rag.keys import KeyStore, Permission, Principal

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="rt_<id>_<secret>",
    description="An API key from `ragtrust keys create --tenant T --role user|admin|auditor`.",
)

_WHAT = {
    "answer": "ask questions",
    "read_documents": "list documents",
    "write_documents": "add or delete documents",
    "audit": "read the audit log",
}


# Key lookups get threads of their own: the default pool runs the heavy work (PII detection,
# embedding, indexing), and a caller who fills it must not lock every tenant out.
_KEY_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ragtrust-auth")


async def lookup_key(keys: KeyStore, key: str) -> Principal | None:
    """The key's principal (None: unknown or revoked), from a database query on the
    authentication threads, with the request's context (its id in the logs)."""
    call = partial(contextvars.copy_context().run, keys.authenticate, key)
    return await asyncio.get_running_loop().run_in_executor(_KEY_LOOKUPS, call)


async def authenticate(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    principal = await lookup_key(state.keys, credentials.credentials)
    if principal is None:
        raise Unauthorized("invalid or revoked API key")
    request.state.principal = principal  # for the access log, metrics and the audit record
    state.rate_limiter.check(principal.key_id)
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.can(permission):
            raise Forbidden(f"the {principal.role} role may not {_WHAT[permission]}")
        return principal

    return check


def route_of(request: Request) -> str:
    """The route template (``/v1/documents/{document_id:path}``), never the raw path."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "<unmatched>"))


async def get_record(
    request: Request, state: StateDep, principal: Annotated[Principal, Depends(authenticate)]
) -> RequestRecord:
    """The request's audit record; the error handlers find it on ``request.state``."""
    record = state.recorder.start(principal, route_of(request), request.state.request_id)
    request.state.record = record
    return record


async def record_failure(request: Request, status: int, code: str) -> None:
    """Every failed request of a known caller is audited too: refused by its role, invalid,
    or failed along the way (refused by its rate limit: counted into one record per window).
    Unauthenticated ones have no tenant to record them under."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return
    recorder = request.app.state.ragtrust.recorder
    if code == RateLimited.code:
        recorder.refused(principal, route_of(request), request.state.request_id, status, code)
        return
    record = getattr(request.state, "record", None)
    if record is None:
        record = recorder.start(principal, route_of(request), request.state.request_id)
    await record.failed(status, code)


Answerer = Annotated[Principal, Depends(require("answer"))]
Reader = Annotated[Principal, Depends(require("read_documents"))]
Writer = Annotated[Principal, Depends(require("write_documents"))]
Auditor = Annotated[Principal, Depends(require("audit"))]
RecordDep = Annotated[RequestRecord, Depends(get_record)]
