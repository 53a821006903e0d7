"""Building the service's components from settings, and owning the embedded LLM's lifetime.

Shared by the HTTP service and the CLI so both wire the same pieces the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import Engine

from rag.core.settings import Settings
from rag.db import make_engine
from rag.keys import KeyStore
from rag.llm import server as llm_server
from rag.llm.client import LLMClient, OpenAICompatibleClient
from rag.tenants import SqlTenantRegistry

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
    server = None
    if settings.embedded_llm:
        log.info("starting the embedded vLLM server (%s); this takes about a minute ...",
                 settings.embedded_model_name)  # fmt: skip
        server = await asyncio.to_thread(llm_server.start, settings)
        base_url, model = server.base_url, server.model
        log.info("vLLM is serving %s at %s", model, base_url)
    else:
        base_url, model = settings.llm_base_url, settings.llm_model
    client = OpenAICompatibleClient(
        base_url, model, api_key=settings.llm_api_key, timeout_s=settings.llm_timeout_s
    )
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            await asyncio.to_thread(server.stop)
