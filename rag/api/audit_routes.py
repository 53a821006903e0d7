"""The audit log over HTTP, for the auditor role of a tenant: export its records, verify its
chain. The tenant is the key's; an auditor never names (or sees) another tenant's records."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from audit.chain import TenantReport
from audit.export import MEDIA_TYPES
from audit.log import AuditLog
from audit.records import AuditRecord, ExportFormat
from rag.api.admission import ExportSlots
from rag.api.auth import Auditor, RecordDep
from rag.protocol import ERROR_RESPONSES

router = APIRouter(prefix="/v1/audit", tags=["audit"])

LINES_PER_CHUNK = 500  # records per body chunk: one thread hop per chunk, not per record


def get_audit(request: Request) -> AuditLog:
    log: AuditLog = request.app.state.ragtrust.audit
    return log


AuditDep = Annotated[AuditLog, Depends(get_audit)]

_EXPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The records, oldest first, streamed: one JSON object per line "
        "(jsonl), or a header and one row per record (csv; lists and objects as JSON cells), "
        'then the export\'s signed seal: a last line {"_seal": {...}} (jsonl), or a last row '
        "whose first cell is _seal and whose second is the seal's JSON (csv). "
        "`ragtrust audit check FILE` tells a whole file from a truncated or altered one.",
        "content": {
            MEDIA_TYPES["jsonl"]: {"schema": AuditRecord.model_json_schema()},
            MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
        },
    },
    **ERROR_RESPONSES,
}


def _chunks(lines: Iterator[str], slots: ExportSlots) -> Iterator[str]:
    try:
        while chunk := "".join(islice(lines, LINES_PER_CHUNK)):
            yield chunk
    finally:
        slots.give_back()


@router.get("/export", response_class=StreamingResponse, responses=_EXPORT_RESPONSES)
async def export(
    request: Request,
    caller: Auditor,
    log: AuditDep,
    record: RecordDep,
    start: Annotated[
        datetime | None,
        Query(alias="from", description="Earliest timestamp (ISO 8601, UTC unless offset)."),
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="Timestamps before this one.")
    ] = None,
    fmt: Annotated[ExportFormat, Query(alias="format")] = "jsonl",
) -> StreamingResponse:
    """The caller's tenant's audit records with ``from <= timestamp < to``, in chain order,
    each with its hash and its predecessor's, streamed without loading them all, and sealed
    (``audit.seal``)."""
    slots: ExportSlots = request.app.state.ragtrust.export_slots
    slots.take()
    try:
        lines = await asyncio.to_thread(log.export, caller.tenant, start, end, fmt)
        await record.done()  # who read the audit log is audited too
    except BaseException:
        slots.give_back()
        raise
    name = f"audit-{caller.tenant}.{fmt}"
    return StreamingResponse(
        _chunks(lines, slots),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/verify", response_model=TenantReport, responses=ERROR_RESPONSES)
async def verify(caller: Auditor, log: AuditDep, record: RecordDep) -> TenantReport:
    """Recompute the caller's tenant's hash chain: ``ok``, or the first broken link (a record
    altered or deleted, a forged checkpoint or chain head)."""
    report = await asyncio.to_thread(log.verify, caller.tenant)
    await record.done()
    return report.tenants[0]
