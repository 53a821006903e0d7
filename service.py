"""ragtrust's HTTP API. Routes only: each one calls the pipeline and returns its result.

Run with ``uvicorn service:app`` (or ``ragtrust serve``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rag import http_errors
from rag.deps import AppState, PipelineDep, StateDep, TenantDep
from rag.middleware import limits
from rag.pipeline import AnswerPipeline
from rag.protocol import ERROR_RESPONSES, AnswerRequest, AnswerResponse, Health
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
            settings, AnswerPipeline(settings, tenants, retriever, llm), llm
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
for middleware, options in limits(settings.max_body_bytes):
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
