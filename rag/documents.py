"""The documents API behind ``/v1/documents``: uploads and JSON in, per-document results out.

A batch is never all-or-nothing: each file or document that cannot be indexed is reported
with its reason and the rest still goes in. Loading and indexing block (parsing, embedding),
so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rag.core.errors import NotFound, RagtrustError
from rag.core.settings import Settings
from rag.protocol import (
    DeletedDocument,
    DocumentIn,
    DocumentInfo,
    DocumentList,
    DocumentResult,
    DocumentsResponse,
)
from rag.tenants import TenantRegistry
from retrieval.loaders import load_bytes
from retrieval.retriever import Retriever
from retrieval.types import Document


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str | None
    data: bytes


class DocumentManager:
    def __init__(self, settings: Settings, tenants: TenantRegistry, retriever: Retriever) -> None:
        self.settings = settings
        self.tenants = tenants
        self.retriever = retriever

    async def add_json(self, tenant: str, docs: list[DocumentIn]) -> DocumentsResponse:
        parsed = [Document(d.id, d.title or d.id, d.text, source=d.source) for d in docs]
        return await asyncio.to_thread(self._ingest, tenant, parsed, {})

    async def add_uploads(self, tenant: str, uploads: list[Upload]) -> DocumentsResponse:
        def load() -> tuple[list[Document], dict[str, str]]:
            docs, failed = [], {}
            for up in uploads:
                try:
                    docs += load_bytes(up.data, up.filename, content_type=up.content_type,
                                       max_bytes=self.settings.max_document_bytes)  # fmt: skip
                except RagtrustError as exc:
                    failed[up.filename] = exc.message
            return docs, failed

        await asyncio.to_thread(self.tenants.require, tenant)
        docs, failed = await asyncio.to_thread(load)
        return await asyncio.to_thread(self._ingest, tenant, docs, failed)

    def _ingest(
        self, tenant: str, docs: list[Document], failed: dict[str, str]
    ) -> DocumentsResponse:
        self.tenants.require(tenant)
        report = self.retriever.ingest(tenant, docs) if docs else None
        errors = {**failed, **(report.errors if report else {})}
        results = [DocumentResult(id=i, status="failed", error=why) for i, why in errors.items()]
        per_doc = report.chunks_per_document if report else {}
        results += [DocumentResult(id=i, status="indexed", chunks=n) for i, n in per_doc.items()]
        return DocumentsResponse(
            indexed=len(per_doc), failed=len(errors), chunks=sum(per_doc.values()),
            documents=results,
        )  # fmt: skip

    async def list(self, tenant: str) -> DocumentList:
        def collect() -> DocumentList:
            self.tenants.require(tenant)
            infos: dict[str, DocumentInfo] = {}
            for c in self.retriever.chunks(tenant):
                info = infos.setdefault(
                    c.doc_id, DocumentInfo(id=c.doc_id, title=c.title, source=c.source, chunks=0)
                )
                info.chunks += 1
            return DocumentList(documents=sorted(infos.values(), key=lambda d: d.id))

        return await asyncio.to_thread(collect)

    async def delete(self, tenant: str, doc_id: str) -> DeletedDocument:
        def remove() -> DeletedDocument:
            self.tenants.require(tenant)
            removed = self.retriever.delete(tenant, [doc_id])
            if not removed:
                raise NotFound("no document with that id in this tenant")
            return DeletedDocument(id=doc_id, deleted_chunks=removed)

        return await asyncio.to_thread(remove)
