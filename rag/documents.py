"""The documents API behind ``/v1/documents``: uploads and JSON in, per-document results out.

A batch is never all-or-nothing: each file or document that cannot be indexed is reported
with its reason and the rest still goes in. Loading and indexing block (parsing, embedding),
so they run in a worker thread. ``ragtrust ingest`` reads files with the same limits, the
same per-file failure and the same quotas: the operator's path is no way around them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

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
from retrieval.loaders import Limits, load_bytes
from retrieval.quota import Quota
from retrieval.retriever import Retriever
from retrieval.types import Document

log = logging.getLogger("ragtrust.documents")


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str | None
    data: bytes


def document_limits(settings: Settings) -> Limits:
    return Limits(
        max_bytes=settings.max_document_bytes,
        max_title_chars=settings.max_title_chars,
        max_source_chars=settings.max_source_chars,
        max_pdf_pages=settings.max_pdf_pages,
    )


def tenant_quota(settings: Settings, tenants: TenantRegistry, tenant: str) -> Quota:
    """The tenant's own quotas (``ragtrust tenants set``), else the service's."""
    ts = tenants.settings(tenant)
    return Quota(
        documents=ts.max_documents or settings.max_tenant_documents,
        chunks=ts.max_chunks or settings.max_tenant_chunks,
        bytes=ts.max_bytes or settings.max_tenant_bytes,
    )


def read_one(
    load: Callable[[], list[Document]], name: str, failed: dict[str, str]
) -> list[Document]:
    """One file's documents, or none and its reason in ``failed``."""
    try:
        return load()
    except RagtrustError as exc:
        failed[name] = exc.message
    except Exception as exc:  # noqa: BLE001
        # A parser's own failure on a hostile file fails that file alone (the type is logged;
        # its text, which may hold PII, is not).
        log.warning("file %r could not be read: %s", name[:200], type(exc).__name__)
        failed[name] = "the file could not be read"
    return []


class DocumentManager:
    def __init__(self, settings: Settings, tenants: TenantRegistry, retriever: Retriever) -> None:
        self.settings = settings
        self.tenants = tenants
        self.retriever = retriever
        self.limits = document_limits(settings)

    async def add_json(self, tenant: str, docs: list[DocumentIn]) -> DocumentsResponse:
        parsed, failed = [], {}
        for d in docs:
            try:
                doc = Document(d.id, d.title or d.id, d.text, source=d.source)
                parsed.append(self.limits.check(doc, d.id))
            except RagtrustError as exc:
                failed[d.id] = exc.message
        return await asyncio.to_thread(self._ingest, tenant, parsed, failed)

    async def add_uploads(self, tenant: str, uploads: list[Upload]) -> DocumentsResponse:
        def load() -> tuple[list[Document], dict[str, str]]:
            docs: list[Document] = []
            failed: dict[str, str] = {}
            for up in uploads:
                read = partial(load_bytes, up.data, up.filename, content_type=up.content_type,
                               limits=self.limits)  # fmt: skip
                docs += read_one(read, up.filename, failed)
            return docs, failed

        await asyncio.to_thread(self.tenants.require, tenant)
        docs, failed = await asyncio.to_thread(load)
        return await asyncio.to_thread(self._ingest, tenant, docs, failed)

    def _ingest(
        self, tenant: str, docs: list[Document], failed: dict[str, str]
    ) -> DocumentsResponse:
        self.tenants.require(tenant)
        quota = tenant_quota(self.settings, self.tenants, tenant)
        report = self.retriever.ingest(tenant, docs, quota=quota) if docs else None
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
