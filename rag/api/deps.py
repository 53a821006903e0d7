"""FastAPI dependencies: the heavy objects built once in the lifespan, and the caller's tenant.

Who the caller is (key, tenant, role) is decided in ``rag.api.auth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from audit.log import AuditLog
from rag.api.ratelimit import KeyRateLimiter
from rag.api.readiness import Readiness
from rag.api.recorder import Recorder
from rag.core.settings import Settings
from rag.documents import DocumentManager
from rag.keys import KeyStore
from rag.llm.client import LLMClient
from rag.pipeline import AnswerPipeline


@dataclass(frozen=True, kw_only=True)
class AppState:
    """What the routes share, built once by the service's lifespan (by name: nine parts)."""

    settings: Settings
    pipeline: AnswerPipeline
    llm: LLMClient
    documents: DocumentManager
    keys: KeyStore
    rate_limiter: KeyRateLimiter
    readiness: Readiness
    audit: AuditLog
    recorder: Recorder


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
