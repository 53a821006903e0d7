"""Several LLM endpoints (RAGTRUST_LLM_BASE_URL="a,b"), for real: the service in front of a
fault proxy and the real vLLM server; the proxy drops every connection, then answers 500,
then passes again. Answers keep coming, /readyz and /metrics name the bad endpoint, and a
tenant goes back to its own endpoint once it answers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from rag.exchange import cache_salt
from rag.llm.endpoints import rank
from rag.stack import free_port
from tests.fault_proxy import FaultProxy
from tests.support import DEMO, LLMEndpoint, Service

pytestmark = pytest.mark.integration

SALT_KEY = "endpoint-tests-salt-key"
QUESTION = "How many vacation days do full-time employees get?"


@pytest.fixture(scope="module")
def proxy(llm: LLMEndpoint) -> Iterator[FaultProxy]:
    p = FaultProxy(llm.base_url.removesuffix("/v1"), free_port()).start()
    yield p
    p.stop()


def _tenant_preferring(urls: list[str], index: int) -> str:
    """A tenant whose first choice (rendezvous on its cache salt) is ``urls[index]``."""
    for i in range(1000):
        name = f"t{i}"
        if rank(cache_salt(SALT_KEY.encode(), name), urls)[0] == index:
            return name
    raise AssertionError("no tenant name found")


@pytest.fixture(scope="module")
def pooled(
    service_factory: Callable[..., Service], llm: LLMEndpoint, proxy: FaultProxy
) -> tuple[Service, str]:
    """The service on [proxy, vLLM], and a tenant whose first choice is the proxy."""
    urls = [proxy.base_url, llm.base_url]
    svc = service_factory("endpoints", ",".join(urls), llm.model, RAGTRUST_RATE_LIMIT="",
                          RAGTRUST_LLM_CACHE_SALT_KEY=SALT_KEY)  # fmt: skip
    tenant = _tenant_preferring(urls, 0)
    for args in (("tenants", "create", tenant), ("ingest", str(DEMO), "--tenant", tenant)):
        done = svc.cli(*args)
        assert done.returncode == 0, done.stderr
    return svc, tenant


def _metrics(svc: Service) -> dict[str, float]:
    text = httpx.get(f"{svc.url}/metrics", timeout=10).text
    found = re.findall(r'^(ragtrust_llm_endpoint_\w+)\{endpoint="(llm-\d)"\} (\S+)$', text, re.M)
    return {f"{name}[{ep}]": float(value) for name, ep, value in found}


def _ask(c: httpx.Client, **body: Any) -> httpx.Response:
    return c.post("/v1/answer", json={"question": QUESTION, **body})


@pytest.mark.parametrize("fault", ["drop", "error"])
def test_answers_keep_coming_while_one_endpoint_fails(
    pooled: tuple[Service, str], proxy: FaultProxy, fault: str
) -> None:
    svc, tenant = pooled
    before = _metrics(svc).get("ragtrust_llm_endpoint_failovers_total[llm-0]", 0.0)
    proxy.mode = fault  # type: ignore[assignment]
    try:
        with svc.client(tenant, role="user") as c:
            extractive = _ask(c, answer_mode="extractive")  # the samples need the LLM
            streamed = c.post("/v1/answer", json={
                "question": QUESTION, "answer_mode": "generative", "trust_preset": "off",
                "stream": True,
            })  # fmt: skip
            chat = c.post("/v1/chat/completions", json={
                "model": "ragtrust", "messages": [{"role": "user", "content": QUESTION}],
                "ragtrust": {"answer_mode": "generative", "trust_preset": "off"},
            })  # fmt: skip
            ready = c.get("/readyz")
    finally:
        proxy.mode = "pass"
    assert extractive.status_code == 200, extractive.text
    assert extractive.json()["trust"]["samples"] > 0  # the second endpoint drew them
    assert streamed.status_code == 200 and "event: error" not in streamed.text
    assert "event: answer" in streamed.text, streamed.text[-300:]
    assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"]
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["llm"] == "ok"
    assert ready.json()["llm_endpoints"] == {"llm-0": "down", "llm-1": "ok"}
    assert str(proxy.port) not in ready.text  # the address stays in the operator's log
    seen = _metrics(svc)
    assert seen["ragtrust_llm_endpoint_up[llm-0]"] == 0.0
    assert seen["ragtrust_llm_endpoint_up[llm-1]"] == 1.0
    assert seen["ragtrust_llm_endpoint_failovers_total[llm-0]"] > before
    assert f"LLM endpoint llm-0 ({proxy.base_url}) failed" in svc.log()


def test_a_tenant_goes_back_to_its_endpoint_once_it_answers(
    pooled: tuple[Service, str], proxy: FaultProxy
) -> None:
    svc, tenant = pooled
    proxy.mode = "drop"
    try:
        with svc.client(tenant, role="user") as c:
            assert _ask(c).status_code == 200
    finally:
        proxy.mode = "pass"
    with svc.client(tenant, role="user") as c:
        ready = c.get("/readyz")  # probes every endpoint
        forwarded = proxy.requests
        resp = _ask(c)
    assert ready.json()["llm_endpoints"] == {"llm-0": "ok", "llm-1": "ok"}
    assert resp.status_code == 200 and proxy.requests > forwarded
