"""Two replicas, for real: two `ragtrust serve` processes on one PostgreSQL (with pgvector:
the index backend too), one Redis and one vLLM server. A document ingested through one is
cited by the other's answer and, deleted through the other, gone from the first; a key's rate
limit counts across both; a key revoked through one is refused by the other on its next
request; both write one tenant's audit chain at once and it verifies, with every response's
record in it exactly once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from rag.db import make_engine
from rag.keys import KeyStore
from tests.audit.pgcluster import Cluster
from tests.redis_server import RedisServer
from tests.support import LLMEndpoint, Service

pytestmark = pytest.mark.integration

TENANT = "shared"
RATE = 6  # per minute, per key, across the replicas


@pytest.fixture(scope="module")
def replicas(
    service_factory: Callable[..., Service], llm: LLMEndpoint, postgres: Cluster,
    redis: RedisServer,
) -> tuple[Service, Service]:  # fmt: skip
    shared = {
        "RAGTRUST_DATABASE_URL": postgres.create_database(),
        "RAGTRUST_INDEX_BACKEND": "postgres",
        "RAGTRUST_RATE_LIMIT_STORAGE_URL": redis.url,
        "RAGTRUST_RATE_LIMIT": f"{RATE}/minute",
        # Secrets every replica must share: the audit heads' signatures, the cache salts.
        "RAGTRUST_AUDIT_SIGNING_KEY": "replica-tests-audit-key",
        "RAGTRUST_LLM_CACHE_SALT_KEY": "replica-tests-salt-key",
    }
    a = service_factory("replica-a", llm.base_url, llm.model, **shared)
    b = service_factory("replica-b", llm.base_url, llm.model, **shared)
    done = a.cli("tenants", "create", TENANT)
    assert done.returncode == 0, done.stderr
    return a, b


def _get(svc: Service, key: str, path: str = "/v1/documents") -> httpx.Response:
    return httpx.get(f"{svc.url}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _new_key(svc: Service, role: str) -> tuple[str, str]:
    issued = KeyStore(make_engine(svc.database_url)).create(TENANT, role, "replica-tests")
    return issued.info.id, issued.secret


def test_a_document_added_through_one_replica_is_cited_by_the_other_until_deleted(
    replicas: tuple[Service, Service],
) -> None:
    a, b = replicas
    _, key = _new_key(a, "admin")
    text = "Employees park in garage P7. Each parking permit costs EUR 45 per month."
    doc = {"id": "parking.md", "title": "Parking", "text": text}
    added = httpx.post(f"{a.url}/v1/documents", json={"documents": [doc]},
                       headers={"Authorization": f"Bearer {key}"}, timeout=120)  # fmt: skip
    assert added.status_code == 200, added.text
    question = {"question": "How much does a parking permit cost?", "trust_preset": "off",
                "answer_mode": "extractive"}  # fmt: skip
    answer = httpx.post(f"{b.url}/v1/answer", json=question,
                        headers={"Authorization": f"Bearer {key}"}, timeout=120)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert "EUR 45" in answer.json()["answer"]
    assert [c["document_id"] for c in answer.json()["citations"]] == ["parking.md"]
    deleted = httpx.delete(f"{b.url}/v1/documents/parking.md",
                           headers={"Authorization": f"Bearer {key}"}, timeout=60)  # fmt: skip
    assert deleted.status_code == 200, deleted.text
    assert _get(a, key).json()["documents"] == []
    after = httpx.post(f"{a.url}/v1/answer", json=question,
                       headers={"Authorization": f"Bearer {key}"}, timeout=120)  # fmt: skip
    assert after.status_code == 200 and after.json()["citations"] == []


def test_a_keys_rate_limit_counts_across_both_replicas(replicas: tuple[Service, Service]) -> None:
    a, b = replicas
    _, key = _new_key(a, "admin")
    statuses = [_get((a, b)[i % 2], key).status_code for i in range(RATE + 1)]
    assert statuses == [200] * RATE + [429], statuses
    # Each replica alone would have granted RATE: the budget is the shared one.
    assert _get(a, key).status_code == 429 and _get(b, key).status_code == 429


def test_a_key_revoked_through_one_replica_is_refused_by_the_other(
    replicas: tuple[Service, Service],
) -> None:
    a, b = replicas
    key_id, key = _new_key(a, "admin")
    assert _get(b, key).status_code == 200
    done = a.cli("keys", "revoke", key_id)
    assert done.returncode == 0, done.stderr
    refused = _get(b, key)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"


def test_both_replicas_write_one_chain_that_verifies_with_each_record_once(
    replicas: tuple[Service, Service],
) -> None:
    a, b = replicas
    keys = [_new_key(a, "admin")[1] for _ in range(4)]  # 4 keys x RATE requests: no 429
    jobs = [((a, b)[n % 2], keys[n % 4]) for n in range(4 * RATE)]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda job: _get(*job), jobs))
    assert [r.status_code for r in responses] == [200] * len(jobs)
    _, auditor = _new_key(a, "auditor")
    report = _get(b, auditor, "/v1/audit/verify").json()
    assert report["ok"] is True, report
    export = _get(a, auditor, "/v1/audit/export?format=jsonl")
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.text.splitlines() if line.strip()]
    ids = Counter(r.get("request_id") for r in lines)
    for r in responses:
        assert ids[r.headers["x-request-id"]] == 1, r.headers["x-request-id"]
