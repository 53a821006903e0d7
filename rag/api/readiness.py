"""What ``/readyz`` checks: the LLM answers, the database answers, every tenant's indexes are
loaded. Indexes load in the background after start-up, so ``/healthz`` is up at once and a
load balancer sends traffic only once ``/readyz`` says so."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.engine import Engine

from rag.llm.client import LLMClient
from rag.llm.endpoints import ReportsEndpoints
from rag.tenants import TenantRegistry
from retrieval.retriever import Retriever

log = logging.getLogger("ragtrust")


class Readiness:
    def __init__(self, llm: LLMClient, engine: Engine) -> None:
        self.llm = llm
        self.engine = engine
        self.indexes = "loading"

    async def preload(self, tenants: TenantRegistry, retriever: Retriever) -> None:
        def load() -> int:
            names = tenants.names()
            for name in names:
                retriever.warm(name)  # the file store reads and caches its snapshot
            return len(names)

        try:
            n = await asyncio.to_thread(load)
        except Exception as exc:  # reported by /readyz; the service still answers
            log.error("loading indexes failed: %s", type(exc).__name__, exc_info=exc)
            self.indexes = "failed"
        else:
            log.info("indexes of %d tenants loaded", n)
            self.indexes = "ok"

    def _database(self) -> str:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return "down"
        return "ok"

    async def checks(self) -> dict[str, str]:
        llm, database = await asyncio.gather(self.llm.ready(), asyncio.to_thread(self._database))
        return {"llm": "ok" if llm else "down", "database": database, "indexes": self.indexes}

    def llm_endpoints(self) -> dict[str, str]:
        """Each endpoint's state as the last probe or request left it (``checks`` probes)."""
        if not isinstance(self.llm, ReportsEndpoints):
            return {}
        return {n: "ok" if s.up else "down" for n, s in self.llm.endpoint_status().items()}
