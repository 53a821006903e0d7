"""The composition root: the service's components built from settings, and the embedded
LLM's lifetime owned here.

Shared by the HTTP service, the CLI and the evaluations so all wire the same pieces the same
way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from audit.log import AuditLog
from rag.core.settings import Settings
from rag.db import make_engine
from rag.documents import DocumentManager
from rag.keys import KeyStore
from rag.llm import server as llm_server
from rag.llm.client import LLMClient, OpenAICompatibleClient
from rag.llm.endpoints import EndpointPool
from rag.pipeline import AnswerPipeline
from rag.tenants import SqlTenantRegistry
from retrieval.build import build_retriever
from retrieval.retriever import Retriever

log = logging.getLogger("ragtrust")


def build_engine(settings: Settings) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.db_url)


def build_tenants(settings: Settings, engine: Engine | None = None) -> SqlTenantRegistry:
    return SqlTenantRegistry(engine or build_engine(settings))


def build_keys(settings: Settings, engine: Engine | None = None) -> KeyStore:
    return KeyStore(engine or build_engine(settings))


@asynccontextmanager
async def llm_client(settings: Settings) -> AsyncIterator[LLMClient]:
    """The configured endpoint, or the embedded vLLM server started (and stopped) here."""
    server, api_key = None, settings.llm_api_key
    if settings.embedded_llm:
        log.info("starting the embedded vLLM server (%s); this takes about a minute ...",
                 settings.embedded_model_name)  # fmt: skip
        server = await asyncio.to_thread(llm_server.start, settings)
        urls, model, api_key = [server.base_url], server.model, server.api_key
        log.info("vLLM is serving %s at %s", model, server.base_url)
    else:
        urls, model = settings.llm_base_urls, settings.llm_model
    client = EndpointPool([
        OpenAICompatibleClient(url, model, api_key=api_key, timeout_s=settings.llm_timeout_s)
        for url in urls
    ])  # fmt: skip
    for ep in client.endpoints:
        log.info("LLM endpoint %s is %s", ep.name, ep.client.base_url)
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            await asyncio.to_thread(server.stop)


@dataclass(frozen=True)
class Components:
    """Everything the service answers with, built once from settings."""

    settings: Settings
    engine: Engine
    tenants: SqlTenantRegistry
    retriever: Retriever
    llm: LLMClient
    pipeline: AnswerPipeline
    documents: DocumentManager
    keys: KeyStore
    audit: AuditLog


@asynccontextmanager
async def components(settings: Settings) -> AsyncIterator[Components]:
    """The service's components, the LLM started for as long as they are in use."""
    engine = build_engine(settings)
    tenants = build_tenants(settings, engine)
    retriever = await asyncio.to_thread(build_retriever, settings)
    audit = AuditLog.from_settings(settings, engine)
    async with llm_client(settings) as llm:
        yield Components(
            settings=settings, engine=engine, tenants=tenants, retriever=retriever, llm=llm,
            pipeline=AnswerPipeline(settings, tenants, retriever, llm),
            documents=DocumentManager(settings, tenants, retriever),
            keys=build_keys(settings, engine), audit=audit,
        )  # fmt: skip
