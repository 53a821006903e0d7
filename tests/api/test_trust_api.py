"""Trust in the API end to end: the real service, the real vLLM (answer + n=k samples in
one batch), the shipped calibration."""

from __future__ import annotations

import pytest

from tests.support import Service

pytestmark = pytest.mark.integration

CONTEXT = ["Full-time employees receive 30 vacation days per calendar year. Part-time "
           "employees receive a pro-rated share."]  # fmt: skip


def test_every_answer_carries_a_trust_score(service: Service) -> None:
    with service.client() as c:
        resp = c.post("/v1/answer", json={"question": "How many vacation days do full-time "
                                          "employees get per year?"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    body = resp.json()
    trust = body["trust"]
    assert set(trust) == {"score", "flagged", "threshold", "preset", "signals", "unsupported",
                          "samples"}  # fmt: skip
    assert trust["preset"] == "balanced"
    assert 0.0 <= trust["score"] <= 1.0
    assert trust["flagged"] == (trust["score"] < trust["threshold"])
    assert trust["signals"]["grounding"] is not None
    for s in trust["unsupported"]:
        assert body["answer"][s["start"] : s["end"]] == s["text"]
    assert body["timings_ms"]["trust"] >= 0
    # Generative answers: a sentence either has its supporting quote or is unsupported.
    assert body["answer_mode"] == "generative"
    quoted = {(q["answer_start"], q["answer_end"]) for q in body["quotes"]}
    assert not quoted & {(s["start"], s["end"]) for s in trust["unsupported"]}
    for q in body["quotes"]:
        assert q["support"] >= 0.5 and q["text"]
        assert q["chunk_id"] in {c["chunk_id"] for c in body["citations"]}


@pytest.mark.parametrize("preset", ["off", "fast"])
def test_cheaper_presets_draw_no_samples(service: Service, preset: str) -> None:
    with service.client() as c:
        body = c.post(
            "/v1/answer", json={"question": "What is the hotel cap in London?",
                                "trust_preset": preset},
        ).json()  # fmt: skip
    assert body["trust"]["samples"] == 0 and body["trust"]["preset"] == preset
    assert (body["trust"]["score"] is None) == (preset == "off")


def test_score_endpoint_prefers_the_supported_answer(service: Service) -> None:
    q = "How many vacation days do full-time employees get?"
    with service.client() as c:
        good = c.post(
            "/v1/score",
            json={
                "question": q,
                "answer": "They get 30 vacation days per year.",
                "context": CONTEXT,
                "trust_preset": "fast",
            },
        )
        bad = c.post("/v1/score", json={"question": q, "answer": "They get 45 vacation days, "
                                        "and unlimited sick leave in Norway.", "context": CONTEXT,
                                        "trust_preset": "fast"})  # fmt: skip
    assert good.status_code == 200 and bad.status_code == 200, (good.text, bad.text)
    g, b = good.json()["trust"], bad.json()["trust"]
    assert g["score"] > b["score"]
    assert b["unsupported"] and not g["unsupported"]
    assert good.json()["citations"] == []


def test_score_endpoint_retrieves_when_no_context_is_given(service: Service) -> None:
    with service.client() as c:
        resp = c.post("/v1/score", json={"question": "What is the minimum password length?",
                                         "answer": "At least 14 characters.",
                                         "trust_preset": "fast"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert resp.json()["citations"][0]["document_id"] == "security-policy.md"


@pytest.mark.parametrize(
    "payload",
    [
        {"question": "q", "answer": "a", "trust_preset": "paranoid"},
        {"question": "q"},
        {"question": "q", "answer": "a", "context": "not a list"},
    ],
)
def test_bad_score_requests_are_422(service: Service, payload: dict) -> None:
    with service.client() as c:
        resp = c.post("/v1/score", json=payload)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"
