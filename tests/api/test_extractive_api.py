"""The default answer mode end to end: a real uvicorn process with the product's default
settings, the real vLLM server drawing the trust samples, the demo corpus ingested by the
real CLI. Each answer must state the fact a reader asked for, quoted from the sources."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rag.core.settings import Settings
from rag.llm.prompts import NO_ANSWER
from tests.support import DEMO, LLMEndpoint, Service

pytestmark = pytest.mark.integration

DEFAULT_MODE = Settings.model_fields["answer_mode"].default


@pytest.fixture(scope="module")
def quoting(service_factory: Callable[..., Service], llm: LLMEndpoint) -> Service:
    svc = service_factory("quoting", llm.base_url, llm.model, RAGTRUST_ANSWER_MODE=DEFAULT_MODE)
    for args in (("tenants", "create", "demo"), ("ingest", str(DEMO), "--tenant", "demo")):
        done = svc.cli(*args)
        assert done.returncode == 0, done.stderr
    return svc


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        pytest.param("How many vacation days do full-time employees get?", "30 vacation days",
                     id="vacation-days"),
        pytest.param("What is the hotel cap in London?", "EUR 220", id="table-london"),
        pytest.param("What is the maximum hotel rate in New York?", "EUR 280", id="table-ny"),
        pytest.param("Who approves business class flights?", "CFO", id="who-business-class"),
        pytest.param("Who approves trips above EUR 5,000?", "Chief Financial Officer",
                     id="who-above-5000"),
        pytest.param("What is the deadline for claiming travel costs?", "30 calendar days",
                     id="deadline-claims"),
        pytest.param("How far in advance must international trips be booked?", "14 days",
                     id="deadline-booking"),
        pytest.param("What is the minimum password length?", "14 characters", id="password"),
    ],
)  # fmt: skip
def test_demo_questions_are_answered_with_the_fact(
    quoting: Service, question: str, fact: str
) -> None:
    with quoting.client(role="user") as c:
        resp = c.post("/v1/answer", json={"question": question})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert DEFAULT_MODE == "extractive" and body["answer_mode"] == "extractive"
    assert fact in body["answer"], body["answer"]
    assert 1 <= len(body["quotes"]) <= 2
    assert body["trust"]["score"] is not None and body["trust"]["samples"] > 0


def test_quotes_are_verbatim_spans_of_the_cited_chunks(quoting: Service) -> None:
    with quoting.client(role="user") as c:
        body = c.post(
            "/v1/answer", json={"question": "Who approves business class flights?"}
        ).json()
    cited = {c["source"]: c for c in body["citations"]}
    for q in body["quotes"]:
        source = (DEMO / q["document_id"]).read_text()
        assert q["text"] in source
        assert q["chunk_id"] == cited[q["source"]]["chunk_id"]
        shown = body["answer"][q["answer_start"] : q["answer_end"]]
        assert " ".join(q["text"].split()) == shown or q["text"].startswith("|")
        assert f"[{q['source']}]" in body["answer"]


def test_no_retrievable_unit_gets_no_answer_and_a_low_score(quoting: Service) -> None:
    with quoting.client(role="user") as c:
        body = c.post("/v1/answer", json={"question": "What is the capital of Mars?"}).json()
    assert body["answer"] == NO_ANSWER
    assert body["quotes"] == []
    assert body["trust"]["flagged"] and body["trust"]["score"] < body["trust"]["threshold"]


def test_quotes_never_come_from_another_tenant(quoting: Service, tmp_path: Path) -> None:
    (tmp_path / "secret.md").write_text("# Secret\n\nThe vault code of the other tenant is 7781.\n")
    for args in (("tenants", "create", "other"), ("ingest", str(tmp_path), "--tenant", "other")):
        assert quoting.cli(*args).returncode == 0
    with quoting.client(role="user") as c:
        body = c.post("/v1/answer", json={"question": "What is the vault code?"}).json()
    assert "7781" not in body["answer"]
    demo_docs = {p.name for p in DEMO.iterdir()}
    assert {q["document_id"] for q in body["quotes"]} <= demo_docs
    assert {c["document_id"] for c in body["citations"]} <= demo_docs


def test_streamed_answers_carry_quotes_in_the_final_event(quoting: Service) -> None:
    question = {"question": "What is the hotel cap in London?", "stream": True}
    with quoting.client(role="user") as c, c.stream("POST", "/v1/answer", json=question) as resp:
        events = [line for line in resp.iter_lines() if line.startswith("data: ")]
    final = json.loads(events[-1].removeprefix("data: "))
    assert "EUR 220" in final["answer"] and final["quotes"]
    ask = [{"role": "user", "content": "What is the hotel cap in London?"}]
    chat = {"model": "ragtrust", "stream": True, "messages": ask}
    with quoting.client(role="user") as c, c.stream("POST", "/v1/chat/completions", json=chat) as r:
        chunks = [json.loads(x.removeprefix("data: ")) for x in r.iter_lines()
                  if x.startswith("data: {")]  # fmt: skip
    last = next(ch for ch in reversed(chunks) if "ragtrust" in ch)
    text = "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks if ch["choices"])
    assert "EUR 220" in text
    assert last["ragtrust"]["answer_mode"] == "extractive" and last["ragtrust"]["quotes"]


def test_answer_mode_per_request_and_per_tenant(quoting: Service) -> None:
    q = "How many vacation days do full-time employees get?"
    with quoting.client(role="user") as c:
        written = c.post("/v1/answer", json={"question": q, "answer_mode": "generative"}).json()
    assert written["answer_mode"] == "generative" and written["usage"]["completion_tokens"] > 0
    done = quoting.cli("tenants", "set", "demo", "--answer-mode", "generative")
    assert done.returncode == 0, done.stderr
    try:
        with quoting.client(role="user") as c:
            body = c.post("/v1/answer", json={"question": q}).json()
            chat = c.post("/v1/chat/completions", json={
                "model": "ragtrust", "messages": [{"role": "user", "content": q}],
                "ragtrust": {"answer_mode": "extractive"}}).json()  # fmt: skip
        assert body["answer_mode"] == "generative"
        assert chat["ragtrust"]["answer_mode"] == "extractive"
        assert "30" in chat["choices"][0]["message"]["content"]
    finally:
        quoting.cli("tenants", "set", "demo", "--reset", "answer_mode")


def test_cli_ask_prints_the_quote_and_its_trust(quoting: Service) -> None:
    key = quoting.key("demo", "user")
    done = quoting.cli("ask", "What is the hotel cap in London?", "--url", quoting.url,
                       "--api-key", key)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "EUR 220" in done.stdout and "extractive" in done.stdout
    assert "travel-policy.md" in done.stdout


def test_a_large_top_k_quotes_from_the_best_chunks_only(quoting: Service) -> None:
    with quoting.client(role="user") as c:
        body = c.post("/v1/answer", json={"question": "What is the hotel cap in London?",
                                          "top_k": 50}).json()  # fmt: skip
    assert len(body["citations"]) > 10
    assert "EUR 220" in body["answer"]
    assert all(q["source"] <= 10 for q in body["quotes"])
