"""The HTTP API end to end: a real uvicorn process, the real vLLM server, a real FAISS index
built from the demo corpus by the real CLI."""

from __future__ import annotations

import json
import re

import pytest

from rag.api.observability import QUIET_LOGGERS
from tests.support import Service

pytestmark = pytest.mark.integration


def _error(resp) -> dict:  # type: ignore[no-untyped-def]
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "code"}
    assert "Traceback" not in resp.text
    return body["error"]


def test_answer_is_cited_from_the_demo_corpus(service: Service) -> None:
    with service.client() as c:
        resp = c.post(
            "/v1/answer",
            json={"question": "How many vacation days do full-time employees get per year?"},
        )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (
        body["request_id"].startswith("req_") and resp.headers["x-request-id"] == body["request_id"]
    )
    assert body["answer"].strip()
    docs = [c["document_id"] for c in body["citations"]]
    assert docs[0] == "hr-leave-policy.md", docs
    assert body["usage"]["completion_tokens"] > 0
    assert body["model"] == service.env["RAGTRUST_LLM_MODEL"]
    assert body["timings_ms"]["total"] >= body["timings_ms"]["generation"] > 0


def test_citations_carry_document_chunk_and_score(service: Service) -> None:
    with service.client() as c:
        body = c.post(
            "/v1/answer", json={"question": "What is the hotel cap in London?", "top_k": 3}
        ).json()
    assert len(body["citations"]) == 3
    scores = [c["score"] for c in body["citations"]]
    assert scores == sorted(scores, reverse=True)
    top = body["citations"][0]
    assert top["document_id"] == "travel-policy.md"
    assert top["chunk_id"].startswith("travel-policy.md#")
    assert top["snippet"] and top["source"] == 1


def test_cli_key_then_ask_prints_a_cited_answer(service: Service) -> None:
    created = service.cli("keys", "create", "--tenant", "demo", "--role", "user", "--quiet")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("rt_") and key not in service.cli("keys", "list").stdout
    done = service.cli(
        "ask", "What is the minimum password length?", "--url", service.url, "--api-key", key
    )
    assert done.returncode == 0, done.stderr
    assert "security-policy.md" in done.stdout
    assert re.search(r"^ trust [01]\.\d\d (ok|FLAGGED) \(threshold ", done.stdout, re.M)


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        pytest.param({}, 422, "validation_error", id="missing-question"),
        pytest.param({"question": ""}, 422, "validation_error", id="empty-question"),
        pytest.param({"question": "   "}, 400, "invalid_request", id="blank-question"),
        pytest.param({"question": 42}, 422, "validation_error", id="wrong-type"),
        pytest.param(
            {"question": "hi", "colour": "red"}, 422, "validation_error", id="unknown-field"
        ),
        pytest.param({"question": "hi", "top_k": 0}, 422, "validation_error", id="top-k-zero"),
        pytest.param({"question": "x" * 5000}, 400, "invalid_request", id="question-too-long"),
    ],
)
def test_bad_requests_get_a_clear_json_error(
    service: Service, payload: dict, status: int, code: str
) -> None:
    with service.client() as c:
        resp = c.post("/v1/answer", json=payload)
    assert resp.status_code == status, resp.text
    err = _error(resp)
    assert err["code"] == code
    assert err["message"]


def test_malformed_json_is_a_422_not_a_500(service: Service) -> None:
    with service.client() as c:
        resp = c.post(
            "/v1/answer",
            content=b'{"question": "unterminated',
            headers={"Content-Type": "application/json"},
        )
    assert resp.status_code == 422
    assert _error(resp)["code"] == "validation_error"


def test_oversized_body_is_refused_with_413(service: Service) -> None:
    with service.client() as c:
        resp = c.post("/v1/answer", json={"question": "y" * 2_000_000})
    assert resp.status_code == 413
    assert _error(resp)["code"] == "body_too_large"


def test_oversized_chunked_body_is_refused_with_413(service: Service) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"question": "'
        for _ in range(40):
            yield b"z" * 50_000
        yield b'"}'

    with service.client() as c:
        resp = c.post("/v1/answer", content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer nonsense", "Bearer rt_000000000000_guess", "Basic ZGVtbzpkZW1v", "Bearer"],
)
def test_a_missing_or_wrong_key_is_a_401(service: Service, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with service.client(tenant=None) as c:
        resp = c.post("/v1/answer", json={"question": "hi"}, headers=headers)
    assert resp.status_code == 401
    assert _error(resp)["code"] in {"invalid_api_key", "http_error"}
    assert resp.headers["www-authenticate"] == "Bearer"


def test_the_tenant_comes_from_the_key_not_from_a_header(service: Service) -> None:
    with service.client() as c:
        resp = c.post("/v1/answer", json={"question": "hi", "trust_preset": "off"},
                      headers={"X-Tenant": "other"})  # fmt: skip
    assert resp.status_code == 200


def test_unknown_route_is_a_json_404(service: Service) -> None:
    with service.client() as c:
        resp = c.get("/v1/nothing")
    assert resp.status_code == 404
    assert _error(resp)["code"] == "not_found"


def test_the_log_off_a_terminal_is_json_with_the_banner(service: Service) -> None:
    """The service's stderr is a file here: JSON lines (what collectors parse), the banner
    with the curl to paste, and none of the libraries' per-recognizer or per-call lines."""
    with service.client() as c:
        resp = c.post("/v1/answer", json={"question": "What is the hotel cap in London?"})
    assert resp.status_code == 200
    records = [json.loads(line) for line in service.log().splitlines()]
    ready = [r["message"] for r in records if r["message"].startswith("ragtrust is ready on")]
    assert ready and f"curl -s {service.url}/v1/answer" in ready[-1]
    assert "ragtrust keys create --tenant demo" in ready[-1]
    assert not {r["logger"] for r in records} & {*QUIET_LOGGERS, "presidio-analyzer"}


def test_health_and_readiness(service: Service) -> None:
    with service.client() as c:
        assert c.get("/healthz").json()["status"] == "ok"
        ready = c.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"llm": "ok", "database": "ok", "indexes": "ok"}


def test_llm_down_is_a_503_with_retry_after(dead_llm_service: Service) -> None:
    with dead_llm_service.client() as c:
        resp = c.post("/v1/answer", json={"question": "What is the hotel cap in London?"})
        ready = c.get("/readyz")
    assert resp.status_code == 503
    assert _error(resp)["code"] == "llm_unavailable"
    assert int(resp.headers["retry-after"]) > 0
    assert ready.status_code == 503 and ready.json()["checks"]["llm"] == "down"


def test_openapi_lists_the_routes_and_error_model(service: Service) -> None:
    with service.client() as c:
        spec = c.get("/openapi.json").json()
    assert {"/v1/answer", "/healthz", "/readyz"} <= set(spec["paths"])
    answer = spec["paths"]["/v1/answer"]["post"]["responses"]
    assert {"200", "404", "422", "503"} <= set(answer)
