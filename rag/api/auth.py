"""Who may call what: the API key decides the tenant and the role; the route names the
permission it needs (the key itself is looked up, and its budget checked, in
``rag.api.admission``).

The tenant is never taken from anything the caller could choose per request, so a key of
tenant A has no way to name tenant B.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag.api.deps import StateDep
from rag.api.recorder import RequestRecord
from rag.core.errors import Forbidden, Unauthorized
from rag.keys import Permission, Principal

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


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """The key ``rag.api.admission`` looked up, checked and let in before the body was read;
    the bearer scheme here is what documents the security of the route in OpenAPI."""
    if credentials is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # no admission in front of this app: fail closed
        raise Unauthorized("invalid or revoked API key")
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
    or failed along the way. Unauthenticated ones have no tenant to record them under; those
    its budget refused, ``rag.api.admission`` counts into one record per window."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return
    recorder = request.app.state.ragtrust.recorder
    record = getattr(request.state, "record", None)
    if record is None:
        record = recorder.start(principal, route_of(request), request.state.request_id)
    await record.failed(status, code)


Answerer = Annotated[Principal, Depends(require("answer"))]
Reader = Annotated[Principal, Depends(require("read_documents"))]
Writer = Annotated[Principal, Depends(require("write_documents"))]
Auditor = Annotated[Principal, Depends(require("audit"))]
RecordDep = Annotated[RequestRecord, Depends(get_record)]
