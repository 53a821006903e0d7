"""FastAPI dependencies: the heavy objects built once in the lifespan, and the caller's tenant.

The tenant comes from the ``X-Tenant`` header for now; API keys that map to a tenant and a
role replace it (the key will decide the tenant, the caller will not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from rag.documents import DocumentManager
from rag.llm_client import LLMClient
from rag.pipeline import AnswerPipeline
from rag.settings import Settings


@dataclass
class AppState:
    settings: Settings
    pipeline: AnswerPipeline
    llm: LLMClient
    documents: DocumentManager


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ragtrust
    return state


def get_pipeline(state: Annotated[AppState, Depends(get_state)]) -> AnswerPipeline:
    return state.pipeline


def get_documents(state: Annotated[AppState, Depends(get_state)]) -> DocumentManager:
    return state.documents


def get_tenant(
    x_tenant: Annotated[str, Header(description="The tenant whose documents answer.")],
) -> str:
    return x_tenant.strip().lower()


StateDep = Annotated[AppState, Depends(get_state)]
PipelineDep = Annotated[AnswerPipeline, Depends(get_pipeline)]
TenantDep = Annotated[str, Depends(get_tenant)]
DocumentsDep = Annotated[DocumentManager, Depends(get_documents)]
