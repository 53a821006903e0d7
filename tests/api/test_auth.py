"""API keys, roles, tenant isolation, rate limits and /metrics, through the real HTTP service
(its own process and database) and the real vLLM."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support import LLMEndpoint, Service

pytestmark = pytest.mark.integration

ACME_DOC = {
    "id": "acme-secret.md",
    "title": "Acme launch plan",
    "text": "Project Bluebird launches on 12 May. The launch codename is HELIOTROPE-7.",
}
GLOBEX_DOC = {
    "id": "globex-secret.md",
    "title": "Globex merger memo",
    "text": "The Globex merger closes in Q3. The deal codename is OBSIDIAN-LANTERN.",
}


@pytest.fixture(scope="module")
def two_tenants(service_factory: Callable[..., Service], llm: LLMEndpoint) -> Service:
    svc = service_factory("tenants", llm.base_url, llm.model, RAGTRUST_RATE_LIMIT="")
    for tenant, doc in (("acme", ACME_DOC), ("globex", GLOBEX_DOC)):
        assert svc.cli("tenants", "create", tenant).returncode == 0
        with svc.client(tenant, "admin") as c:
            assert c.post("/v1/documents", json={"documents": [doc]}).json()["indexed"] == 1
    return svc


def test_a_key_sees_only_its_own_tenant(two_tenants: Service) -> None:
    with two_tenants.client("acme", "user") as c:
        assert [d["id"] for d in c.get("/v1/documents").json()["documents"]] == ["acme-secret.md"]
        # Asked with the other tenant's own words, retrieval still only has acme's chunks.
        for mode in ("bm25", "dense", "hybrid"):
            body = {"question": "What is the codename of the Globex merger deal in Q3?",
                    "mode": mode, "trust_preset": "off"}  # fmt: skip
            resp = c.post("/v1/answer", json=body)
            assert resp.status_code == 200, resp.text
            assert {x["document_id"] for x in resp.json()["citations"]} <= {"acme-secret.md"}
            assert "OBSIDIAN" not in resp.text
        scored = c.post("/v1/score", json={"question": "deal codename?", "answer": "OBSIDIAN"})
        assert {x["document_id"] for x in scored.json()["citations"]} <= {"acme-secret.md"}
    with two_tenants.client("acme", "admin") as c:
        gone = c.delete("/v1/documents/globex-secret.md")
        assert gone.status_code == 404
    with two_tenants.client("globex", "user") as c:
        assert [d["id"] for d in c.get("/v1/documents").json()["documents"]] == ["globex-secret.md"]


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "allowed"),
    [
        ("user", "POST", "/v1/documents", {"documents": [{"id": "x", "text": "y"}]}, False),
        ("user", "DELETE", "/v1/documents/acme-secret.md", None, False),
        ("user", "GET", "/v1/documents", None, True),
        ("user", "GET", "/v1/models", None, True),
        ("auditor", "POST", "/v1/answer", {"question": "When is the launch?"}, False),
        ("auditor", "POST", "/v1/chat/completions",
         {"model": "ragtrust", "messages": [{"role": "user", "content": "hi"}]}, False),
        ("auditor", "POST", "/v1/score", {"question": "q", "answer": "a"}, False),
        ("auditor", "GET", "/v1/documents", None, False),
        ("auditor", "POST", "/v1/documents", {"documents": [{"id": "x", "text": "y"}]}, False),
        ("admin", "GET", "/v1/documents", None, True),
    ],
)  # fmt: skip
def test_each_role_is_refused_what_it_may_not_do(
    two_tenants: Service, role: str, method: str, path: str, body: object, allowed: bool
) -> None:
    with two_tenants.client("acme", role) as c:
        resp = c.request(method, path, json=body)
    if allowed:
        assert resp.status_code == 200, resp.text
    else:
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["code"] == "permission_denied"
        assert role in resp.json()["error"]["message"]


def test_a_revoked_key_stops_working_at_once(two_tenants: Service) -> None:
    created = two_tenants.cli("keys", "create", "--tenant", "acme", "--role", "user", "-q")
    key = created.stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{two_tenants.url}/v1/models", headers=headers).status_code == 200
    key_id = key.split("_")[1]
    assert two_tenants.cli("keys", "revoke", key_id).returncode == 0
    listed = two_tenants.cli("keys", "list", "--tenant", "acme").stdout
    assert key_id in listed and key not in listed
    resp = httpx.get(f"{two_tenants.url}/v1/models", headers=headers)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_api_key"


def test_tenant_settings_apply_to_its_answers(two_tenants: Service) -> None:
    assert two_tenants.cli("tenants", "set", "globex", "--trust-preset", "fast",
                           "--trust-threshold", "0.9", "--top-k", "1").returncode == 0  # fmt: skip
    with two_tenants.client("globex", "user") as c:
        body = c.post("/v1/answer", json={"question": "When does the merger close?"}).json()
    assert body["trust"]["preset"] == "fast" and body["trust"]["threshold"] == 0.9
    assert len(body["citations"]) == 1
    with two_tenants.client("globex", "user") as c:  # and to answers it scores
        scored = c.post("/v1/score", json={"question": "When does the merger close?",
                                           "answer": "It closes in March."}).json()  # fmt: skip
    assert scored["trust"]["preset"] == "fast" and scored["trust"]["threshold"] == 0.9
    assert len(scored["citations"]) == 1
    shown = two_tenants.cli("tenants", "show", "globex").stdout
    assert '"trust_preset": "fast"' in shown


def test_per_key_rate_limit_is_a_429_with_retry_after(
    service_factory: Callable[..., Service], llm: LLMEndpoint
) -> None:
    svc = service_factory("ratelimited", llm.base_url, llm.model, RAGTRUST_RATE_LIMIT="3/minute")
    assert svc.cli("tenants", "create", "demo").returncode == 0
    with svc.client("demo", "user") as c:
        codes = [c.get("/v1/models").status_code for _ in range(4)]
        limited = c.get("/v1/models")
    assert codes == [200, 200, 200, 429]
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # Refused before the body is read: a declared 900 kB that never comes is answered at once.
    with _declared_body(svc, "/v1/answer", 900_000, c.headers["authorization"]) as raw:
        assert raw.recv(200).startswith(b"HTTP/1.1 429")
    with svc.client("demo", "admin") as other_key:  # the budget is per key
        assert other_key.get("/v1/models").status_code == 200


def test_a_key_with_too_many_requests_in_flight_is_refused_before_their_bodies(
    service_factory: Callable[..., Service], llm: LLMEndpoint
) -> None:
    """However many connections one key opens, only so many of its requests are read and
    worked on at once; the rest cost the service a key lookup."""
    svc = service_factory("inflight", llm.base_url, llm.model, RAGTRUST_MAX_IN_FLIGHT_PER_KEY="1")
    assert svc.cli("tenants", "create", "demo").returncode == 0
    with svc.client("demo", "user") as c, svc.client("demo", "admin") as other_key:
        auth = c.headers["authorization"]
        with _declared_body(svc, "/v1/score", 100_000, auth):  # in flight, its body awaited
            busy = c.post("/v1/score", json={"question": "Why?", "answer": "Because."})
            assert other_key.get("/v1/models").status_code == 200  # the cap is per key
        assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
        assert busy.json()["error"]["code"] == "too_many_requests_in_flight"
        deadline = time.monotonic() + 10  # the abandoned request gives its slot back
        while c.get("/v1/models").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert c.get("/v1/models").status_code == 200


def test_a_score_body_longer_than_its_texts_can_be_is_refused_on_its_declared_length(
    two_tenants: Service,
) -> None:
    """/v1/score's texts are bounded (question, answer, context), so a megabyte cannot be a
    valid request: it gets its 413 before a byte of it is read."""
    with two_tenants.client("acme", "user") as c:
        auth = c.headers["authorization"]
    with _declared_body(two_tenants, "/v1/score", 999_000, auth) as raw:
        assert raw.recv(200).startswith(b"HTTP/1.1 413")


@contextmanager
def _declared_body(svc: Service, path: str, length: int, auth: str) -> Iterator[socket.socket]:
    """A raw connection that sends a POST's headers and none of the body they declare."""
    host, port = svc.url.removeprefix("http://").split(":")
    headers = [f"POST {path} HTTP/1.1", "Host: x", "Content-Type: application/json"]
    headers += [f"Content-Length: {length}"] + ([f"Authorization: {auth}"] if auth else [])
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        yield raw


def test_metrics_count_requests_answers_and_pii_but_never_text(two_tenants: Service) -> None:
    question = "Is Ada Lovelace on the Bluebird launch team? Mail ada@example.org"
    with two_tenants.client("acme", "user") as c:
        assert c.post("/v1/answer", json={"question": question}).status_code == 200
        assert c.get("/v1/nothing-here?secret=1").status_code == 404
    text = httpx.get(f"{two_tenants.url}/metrics").text
    assert 'route="/v1/answer"' in text and 'status="200"' in text
    assert 'route="<unmatched>"' in text and "nothing-here" not in text
    assert "ragtrust_trust_score_count" in text
    assert 'entity_type="EMAIL_ADDRESS"' in text and 'entity_type="PERSON"' in text
    for secret in ("Ada", "Lovelace", "ada@example.org", "Bluebird", "acme"):
        assert secret not in text  # no text, and no tenant label unless configured


def test_a_flood_of_refused_requests_is_one_audit_record_per_key_and_window(
    service_factory: Callable[..., Service], llm: LLMEndpoint
) -> None:
    """Not one row per 429 under SQLite's write lock, where a flood would time out every
    other tenant's writes; the count, and the first refused request, are kept."""
    svc = service_factory("flooded", llm.base_url, llm.model, RAGTRUST_RATE_LIMIT="2/minute",
                          RAGTRUST_AUDIT_REFUSAL_WINDOW_S="2")  # fmt: skip
    assert svc.cli("tenants", "create", "demo").returncode == 0
    with svc.client("demo", "user") as c:
        codes = [c.get("/v1/models") for _ in range(42)]
    refused = [r.headers["x-request-id"] for r in codes if r.status_code == 429]
    assert len(refused) == 40
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = _audit_rows(svc, "rate_limit_exceeded")
        if sum(n for _, n in rows) == 40:
            break
        time.sleep(0.5)
    assert sum(n for _, n in rows) == 40 and len(rows) <= 2, rows  # 2: the window split the flood
    assert rows[0][0] == refused[0]
    assert svc.cli("audit", "verify").returncode == 0


def _audit_rows(svc: Service, code: str) -> list[tuple[str, int]]:
    with sqlite3.connect(svc.data_dir / "ragtrust.db") as db:
        rows = db.execute(
            "SELECT request_id, requests FROM audit_records WHERE error_code = ? ORDER BY seq",
            (code,),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_an_address_that_keeps_failing_to_authenticate_is_refused_before_its_body(
    service_factory: Callable[..., Service], llm: LLMEndpoint
) -> None:
    """FastAPI parses a body before the key is checked: without a budget per address, anybody
    could make the service read and parse megabytes without a key."""
    svc = service_factory("anonymous", llm.base_url, llm.model,
                          RAGTRUST_ANONYMOUS_RATE_LIMIT="5/minute")  # fmt: skip
    assert svc.cli("tenants", "create", "demo").returncode == 0
    with svc.client(None) as c:
        codes = [c.post("/v1/answer", json={"question": "q"}).status_code for _ in range(3)]
        codes += [c.get("/v1/models", headers={"Authorization": "Bearer guess"}).status_code
                  for _ in range(2)]  # fmt: skip
        assert codes == [401] * 5
        refused = c.post("/v1/answer", json={"question": "q"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    # Refused before the body is read: a declared 900 kB that never comes is answered at once.
    with _declared_body(svc, "/v1/answer", 900_000, "") as raw:
        assert raw.recv(200).startswith(b"HTTP/1.1 429")
    # Another address is not held to this one's budget, and /healthz is not under it at all.
    other = httpx.HTTPTransport(local_address="127.0.0.2")
    with svc.client(None, transport=other) as c:
        assert c.get("/v1/models").status_code == 401
    with svc.client(None) as c:
        assert c.get("/healthz").status_code == 200
