"""ragtrust's HTTP API. Routes only: each one calls the pipeline and returns its result.

Run with ``uvicorn service:app`` (or ``ragtrust serve``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from rag import http_errors
from rag.deps import AppState, DocumentsDep, PipelineDep, StateDep, TenantDep
from rag.documents import DocumentManager, Upload
from rag.middleware import limits
from rag.pipeline import AnswerPipeline
from rag.protocol import (
    ERROR_RESPONSES,
    AnswerRequest,
    AnswerResponse,
    DeletedDocument,
    DocumentList,
    DocumentsRequest,
    DocumentsResponse,
    Health,
    ScoreRequest,
    ScoreResponse,
)
from rag.runtime import build_retriever, build_tenants, llm_client
from rag.settings import get_settings

log = logging.getLogger("ragtrust")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    tenants = build_tenants(settings)
    retriever = await asyncio.to_thread(build_retriever, settings)
    async with llm_client(settings) as llm:
        app.state.ragtrust = AppState(
            settings,
            AnswerPipeline(settings, tenants, retriever, llm),
            llm,
            DocumentManager(settings, tenants, retriever),
        )
        log.info(banner(settings.host, settings.port))
        yield


def banner(host: str, port: int) -> str:
    q = "How many vacation days do full-time employees get?"
    return (
        f"ragtrust is ready on http://{host}:{port} (API docs: /docs). Try:\n"
        f"  curl -s http://{host}:{port}/v1/answer -H 'Content-Type: application/json' "
        f"""-H 'X-Tenant: demo' -d '{{"question": "{q}"}}'\n"""
        f'  .venv/bin/ragtrust ask "{q}" --tenant demo'
    )


settings = get_settings()
app = FastAPI(
    title="ragtrust",
    version="0.1.0",
    summary="Cited answers from a tenant's own documents, served by a quantized Llama on vLLM.",
    lifespan=lifespan,
)
http_errors.install(app)
# Uploads may be large (multipart adds a little framing); everything else stays small.
upload_limit = {"/v1/documents": settings.max_document_bytes + 64 * 1024}
for middleware, options in limits(settings.max_body_bytes, upload_limit):
    app.add_middleware(middleware, **options)


@app.get("/healthz", response_model=Health, tags=["operations"])
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@app.get("/readyz", response_model=Health, tags=["operations"], responses={503: {"model": Health}})
async def readyz(state: StateDep) -> Health | JSONResponse:
    """The LLM answers; until then the service cannot answer questions."""
    ok = await state.llm.ready()
    health = Health(status="ok" if ok else "unavailable", checks={"llm": "ok" if ok else "down"})
    return health if ok else JSONResponse(health.model_dump(), status_code=503)


@app.post("/v1/answer", response_model=AnswerResponse, tags=["answers"], responses=ERROR_RESPONSES)
async def answer(
    body: AnswerRequest, tenant: TenantDep, pipeline: PipelineDep, request: Request
) -> AnswerResponse:
    """Answer a question from the tenant's documents, with citations."""
    return await pipeline.answer(tenant, body, request_id=request.state.request_id)


@app.post("/v1/score", response_model=ScoreResponse, tags=["answers"], responses=ERROR_RESPONSES)
async def score(
    body: ScoreRequest, tenant: TenantDep, pipeline: PipelineDep, request: Request
) -> ScoreResponse:
    """Trust score of an answer produced elsewhere, against the given context or the tenant's
    retrieval for the question."""
    return await pipeline.score(tenant, body, request_id=request.state.request_id)


_DOCUMENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentsRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                }  # fmt: skip
            },
        },
    }
}


@app.post("/v1/documents", response_model=DocumentsResponse, tags=["documents"],
          responses=ERROR_RESPONSES, openapi_extra=_DOCUMENTS_BODY)  # fmt: skip
async def add_documents(
    request: Request, tenant: TenantDep, documents: DocumentsDep
) -> DocumentsResponse:
    """Index documents: JSON ``{"documents": [...]}`` or multipart ``files`` (text, Markdown,
    HTML, PDF, JSONL). Each one is reported; a bad file does not stop the rest."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1000, max_part_size=settings.max_document_bytes) as form:
            uploads = [
                Upload(f.filename or "upload", f.content_type, await f.read())
                for f in form.getlist("files")
                if isinstance(f, UploadFile)
            ]
        if not uploads:
            missing = {"type": "missing", "loc": ("body", "files"), "msg": "no files in the form"}
            raise RequestValidationError([missing])
        return await documents.add_uploads(tenant, uploads)
    try:
        body = DocumentsRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    return await documents.add_json(tenant, body.documents)


@app.get("/v1/documents", response_model=DocumentList, tags=["documents"],
         responses=ERROR_RESPONSES)  # fmt: skip
async def list_documents(tenant: TenantDep, documents: DocumentsDep) -> DocumentList:
    """The tenant's documents and their chunk counts."""
    return await documents.list(tenant)


@app.delete("/v1/documents/{document_id:path}", response_model=DeletedDocument,
            tags=["documents"], responses=ERROR_RESPONSES)  # fmt: skip
async def delete_document(
    document_id: str, tenant: TenantDep, documents: DocumentsDep
) -> DeletedDocument:
    """Remove a document from every index of the tenant."""
    return await documents.delete(tenant, document_id)
