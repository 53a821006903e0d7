"""ragtrust's retriever as a LangChain ``BaseRetriever``, for LangChain applications that
want a tenant's hybrid search in-process (chains, agents, ``retriever.invoke(question)``).

Tenant isolation holds here too: one instance is bound to one tenant's index.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, field_validator

from rag.core.tenant_names import validate_tenant_name
from retrieval.retriever import Retriever
from retrieval.types import Filters, Mode


class RagtrustRetriever(BaseRetriever):
    """``RagtrustRetriever(retriever=..., tenant="acme").invoke("question")``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    tenant: str
    k: int = 4
    mode: Mode = "hybrid"
    filters: Filters | None = None

    @field_validator("tenant")
    @classmethod
    def _tenant_name(cls, tenant: str) -> str:
        # refused at construction, before any search can touch another tenant's folder
        return validate_tenant_name(tenant)

    @classmethod
    def from_settings(cls, tenant: str, **kwargs: Any) -> RagtrustRetriever:
        """Bound to the indexes the service uses (``RAGTRUST_DATA_DIR``)."""
        from rag.core.settings import get_settings
        from retrieval.build import build_retriever

        return cls(retriever=build_retriever(get_settings()), tenant=tenant, **kwargs)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        hits = self.retriever.search(
            self.tenant, query, self.k, mode=self.mode, filters=self.filters
        )
        return [
            LCDocument(
                page_content=h.chunk.text,
                id=h.chunk.chunk_id,
                metadata={
                    "document_id": h.chunk.doc_id,
                    "chunk_id": h.chunk.chunk_id,
                    "title": h.chunk.title,
                    "source": h.chunk.source,
                    "page": h.chunk.page,
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                    "score": h.score,
                },
            )
            for h in hits
        ]
