"""ragtrust's HTTP API. Routes only: each one calls the pipeline and returns its result.

Run with ``uvicorn service:app`` (or ``ragtrust serve``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from rag.api import audit_routes, chat
from rag.api import errors as http_errors
from rag.api.auth import Answerer, Reader, RecordDep, Writer, bearer, record_failure
from rag.api.chat import ChatCompletion, ChatCompletionRequest
from rag.api.deps import AppState, DocumentsDep, PipelineDep, StateDep
from rag.api.middleware import limits
from rag.api.observability import Metrics, ObservabilityMiddleware
from rag.api.readiness import Readiness
from rag.api.streaming import EventStream, answer_events
from rag.core.errors import Unauthorized
from rag.core.settings import get_settings
from rag.documents import Upload
from rag.protocol import (
    ERROR_RESPONSES,
    SSE_RESPONSE,
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
from rag.runtime import components

log = logging.getLogger("ragtrust")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    async with components(settings) as parts:
        readiness = Readiness(parts.llm, parts.engine)
        metrics.watch_llm(parts.llm)
        preload = asyncio.create_task(readiness.preload(parts.tenants, parts.retriever))
        app.state.ragtrust = state = AppState.build(parts, metrics, readiness)
        async with state.recorder.running(drain_s=settings.shutdown_drain_s):
            log.info(banner(settings.host, settings.port))
            yield
            preload.cancel()


def banner(host: str, port: int) -> str:
    q = "How many vacation days do full-time employees get?"
    return (
        f"ragtrust is ready on http://{host}:{port} (API docs: /docs). Try:\n"
        "  export RAGTRUST_API_KEY=$(.venv/bin/ragtrust keys create --tenant demo --role user "
        "--quiet)\n"
        f"  curl -s http://{host}:{port}/v1/answer -H 'Content-Type: application/json' "
        f"""-H "Authorization: Bearer $RAGTRUST_API_KEY" -d '{{"question": "{q}"}}'\n"""
        f'  .venv/bin/ragtrust ask "{q}"'
    )


settings = get_settings()
app = FastAPI(
    title="ragtrust",
    version="0.1.0",
    summary="Cited answers from a tenant's own documents, served by a quantized Llama on vLLM.",
    lifespan=lifespan,
)
http_errors.install(app, on_failure=record_failure)
metrics = Metrics(tenant_label=settings.metrics_tenant_label)
for middleware, options in limits(
    settings.max_body_bytes,
    settings.body_limits,
    settings.anonymous_rate_limit,
    settings.max_in_flight_per_key,
    settings.rate_limit_storage_url,
):
    app.add_middleware(middleware, **options)
# Outermost, so that a 413 from the body limit is counted as a 413.
app.add_middleware(ObservabilityMiddleware, metrics=metrics)


app.include_router(audit_routes.router)


@app.get("/healthz", response_model=Health, tags=["operations"])
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@app.get("/readyz", response_model=Health, tags=["operations"], responses={503: {"model": Health}})
async def readyz(state: StateDep) -> Health | JSONResponse:
    """The LLM and the database answer and the indexes are loaded: the service can answer."""
    checks = await state.readiness.checks()
    ok = all(v == "ok" for v in checks.values())
    health = Health(status="ok" if ok else "unavailable", checks=checks,
                    llm_endpoints=state.readiness.llm_endpoints())  # fmt: skip
    return health if ok else JSONResponse(health.model_dump(), status_code=503)


@app.get("/metrics", tags=["operations"], response_class=Response,
         responses={200: {"content": {"text/plain": {}}}, 401: ERROR_RESPONSES[401]})  # fmt: skip
async def prometheus_metrics(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Response:
    """Prometheus metrics: requests and latency by route and status, tokens, trust scores,
    flagged answers, PII entities by type (never a value; the tenant only if configured)."""
    token = settings.metrics_token
    given = credentials.credentials if credentials else ""
    if token and not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("/metrics needs 'Authorization: Bearer <RAGTRUST_METRICS_TOKEN>'")
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


@app.post("/v1/answer", response_model=AnswerResponse, tags=["answers"],
          responses={**ERROR_RESPONSES, **SSE_RESPONSE})  # fmt: skip
async def answer(
    body: AnswerRequest, caller: Answerer, pipeline: PipelineDep, record: RecordDep
) -> AnswerResponse | StreamingResponse:
    """Answer a question from the tenant's documents, with citations, a trust score, what
    privacy protected and what it cost. ``stream: true`` sends server-sent events."""
    prep = await pipeline.prepare(caller.tenant, body, request_id=record.request_id)
    record.prepared(prep)
    if body.stream:
        return EventStream(answer_events(pipeline.stream(prep), record.request_id, record))
    outcome = await pipeline.complete(prep)
    await record.answered(outcome)
    return outcome.response


@app.post("/v1/chat/completions", response_model=ChatCompletion, tags=["chat"],
          responses={**ERROR_RESPONSES, **SSE_RESPONSE})  # fmt: skip
async def chat_completions(
    body: ChatCompletionRequest, caller: Answerer, pipeline: PipelineDep, record: RecordDep
) -> ChatCompletion | StreamingResponse:
    """OpenAI-compatible chat over the tenant's documents: the last user message is the
    question, earlier turns its context. Citations, trust, privacy and cost come in a
    ``ragtrust`` object of the response (streamed: of the last chunk)."""
    rid = record.request_id
    question, history = chat.to_answer_request(body)
    prep = await pipeline.prepare(caller.tenant, question, request_id=rid, history=history)
    record.prepared(prep)
    if body.stream:
        usage = bool(body.stream_options and body.stream_options.include_usage)
        return EventStream(chat.chunks(pipeline.stream(prep), rid, record, include_usage=usage))
    outcome = await pipeline.complete(prep)
    await record.answered(outcome)
    return chat.completion(outcome)


@app.get("/v1/models", response_model=chat.ModelList, tags=["chat"], responses=ERROR_RESPONSES)
async def list_models(caller: Answerer, record: RecordDep) -> chat.ModelList:
    """The model id chat clients send: ``ragtrust`` (answers from the tenant's documents)."""
    await record.done()
    return chat.models()


@app.post("/v1/score", response_model=ScoreResponse, tags=["answers"], responses=ERROR_RESPONSES)
async def score(
    body: ScoreRequest, caller: Answerer, pipeline: PipelineDep, record: RecordDep
) -> ScoreResponse:
    """Trust score of an answer produced elsewhere, against the given context or the tenant's
    retrieval for the question."""
    scored = await pipeline.score(caller.tenant, body, request_id=record.request_id)
    t = scored.trust
    await record.done(
        document_ids=list(dict.fromkeys(c.document_id for c in scored.citations)),
        chunk_ids=[c.chunk_id for c in scored.citations], pii_counts=scored.privacy.entities,
        trust_score=t.score, trust_flagged=t.flagged, trust_preset=t.preset,
        timings_ms=scored.timings_ms,
    )  # fmt: skip
    return scored


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
    request: Request, caller: Writer, documents: DocumentsDep, record: RecordDep
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
        added = await documents.add_uploads(caller.tenant, uploads)
    else:
        try:
            body = DocumentsRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        added = await documents.add_json(caller.tenant, body.documents)
    await record.done(document_ids=[d.id for d in added.documents if d.status == "indexed"])
    return added


@app.get("/v1/documents", response_model=DocumentList, tags=["documents"],
         responses=ERROR_RESPONSES)  # fmt: skip
async def list_documents(
    caller: Reader, documents: DocumentsDep, record: RecordDep
) -> DocumentList:
    """The tenant's documents and their chunk counts."""
    listed = await documents.list(caller.tenant)
    await record.done()
    return listed


@app.delete("/v1/documents/{document_id:path}", response_model=DeletedDocument,
            tags=["documents"], responses=ERROR_RESPONSES)  # fmt: skip
async def delete_document(
    document_id: str, caller: Writer, documents: DocumentsDep, record: RecordDep
) -> DeletedDocument:
    """Remove a document from every index of the tenant."""
    deleted = await documents.delete(caller.tenant, document_id)
    await record.done(document_ids=[deleted.id])
    return deleted
