"""The stack a load test runs against: the session's vLLM (port 8001, reused) and a service
process of its own, whose PID the test needs to read its memory."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from rag import stack
from tests.support import DEMO, LLMEndpoint

SOAK_TENANTS = ("soak-a", "soak-b")


@pytest.fixture(scope="module")
def soak_service(
    llm: LLMEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[stack.ServiceProcess]:
    """ragtrust with the demo corpus in two tenants. Answers are capped at
    RAGTRUST_SOAK_MAX_ANSWER_TOKENS (default 48) and the LLM timeout is
    RAGTRUST_SOAK_LLM_TIMEOUT_S (default 240 s, the service's own default is 60): 50 clients
    queue ~750-token prompts on a 135M model on 2 CPU cores, whose prefill alone takes minutes
    for all of them, so with 60 s the run measures load shedding rather than the service
    under load; everything else is the service's default, rate limit included."""
    env = {
        "RAGTRUST_MAX_ANSWER_TOKENS": os.environ.get("RAGTRUST_SOAK_MAX_ANSWER_TOKENS", "48"),
        "RAGTRUST_LLM_TIMEOUT_S": os.environ.get("RAGTRUST_SOAK_LLM_TIMEOUT_S", "240"),
    }
    svc = stack.start_service(tmp_path_factory.mktemp("soak"), llm.base_url, llm.model, **env)
    try:
        svc.wait_for("/healthz")
        for tenant in SOAK_TENANTS:
            stack.upload_corpus(svc.url, svc.key(tenant), DEMO)
        svc.wait_for("/readyz")
        yield svc
    finally:
        svc.stop()
