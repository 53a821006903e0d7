"""The stack a load test runs against: the session's vLLM (port 8001, reused) and a service
process of its own, whose PID the test needs to read its memory."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from rag import stack
from tests.conftest import DEMO, LLMEndpoint

SOAK_TENANTS = ("soak-a", "soak-b")


@pytest.fixture(scope="module")
def soak_service(
    llm: LLMEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[stack.ServiceProcess]:
    """ragtrust with the demo corpus in two tenants. Answers are capped at
    RAGTRUST_SOAK_MAX_ANSWER_TOKENS (default 48) so that 50 clients' answers fit the LLM
    timeout on a 2-core CPU; everything else is the service's default, rate limit included."""
    env = {"RAGTRUST_MAX_ANSWER_TOKENS": os.environ.get("RAGTRUST_SOAK_MAX_ANSWER_TOKENS", "48")}
    svc = stack.start_service(tmp_path_factory.mktemp("soak"), llm.base_url, llm.model, **env)
    try:
        svc.wait_for("/healthz")
        for tenant in SOAK_TENANTS:
            stack.upload_corpus(svc.url, svc.key(tenant), DEMO)
        svc.wait_for("/readyz")
        yield svc
    finally:
        svc.stop()
