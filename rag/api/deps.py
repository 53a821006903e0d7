"""FastAPI dependencies: the heavy objects built once in the lifespan, and the caller's tenant.

Who the caller is (key, tenant, role) is decided in ``rag.api.auth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from audit.log import AuditLog
from rag.api.admission import ExportSlots
from rag.api.observability import Metrics
from rag.api.ratelimit import KeyRateLimiter
from rag.api.readiness import Readiness
from rag.api.recorder import Recorder
from rag.core.settings import Settings
from rag.documents import DocumentManager
from rag.keys import KeyStore
from rag.llm.client import LLMClient
from rag.pipeline import AnswerPipeline
from rag.runtime import Components


@dataclass(frozen=True, kw_only=True)
class AppState:
    """What the routes share, built once by the service's lifespan (by name: ten parts)."""

    settings: Settings
    pipeline: AnswerPipeline
    llm: LLMClient
    documents: DocumentManager
    keys: KeyStore
    rate_limiter: KeyRateLimiter
    readiness: Readiness
    audit: AuditLog
    recorder: Recorder
    export_slots: ExportSlots

    @classmethod
    def build(cls, parts: Components, metrics: Metrics, readiness: Readiness) -> AppState:
        """The components, with what the HTTP layer adds: rate limits, readiness, the
        per-request audit record."""
        s = parts.settings
        precision = s.llm_precision if s.embedded_llm else None
        return cls(
            settings=s, pipeline=parts.pipeline, llm=parts.llm, documents=parts.documents,
            keys=parts.keys, readiness=readiness, audit=parts.audit,
            rate_limiter=KeyRateLimiter(s.rate_limit, s.rate_limit_storage_url),
            recorder=Recorder(parts.audit, metrics, parts.llm.model, precision,
                              refusal_window_s=s.audit_refusal_window_s),
            export_slots=ExportSlots(s.audit_max_exports),
        )  # fmt: skip


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ragtrust
    return state


def get_pipeline(state: Annotated[AppState, Depends(get_state)]) -> AnswerPipeline:
    return state.pipeline


def get_documents(state: Annotated[AppState, Depends(get_state)]) -> DocumentManager:
    return state.documents


StateDep = Annotated[AppState, Depends(get_state)]
PipelineDep = Annotated[AnswerPipeline, Depends(get_pipeline)]
DocumentsDep = Annotated[DocumentManager, Depends(get_documents)]
