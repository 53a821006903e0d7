"""``ragtrust eval qa``: the metric pieces on plain data, and the command's JSON contract
end to end (temporary tenant, whole pipeline, real vLLM) on a tiny SQuAD-format file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.qa_eval import is_correct, qa_metrics, selective_accuracy
from tests.support import LLMEndpoint

RAGTRUST = str(Path(sys.executable).parent / "ragtrust")
KEYS = {
    "accuracy",
    "f1",
    "auroc",
    "selective_accuracy@80",
    "ece",
    "n",
    "latency_p50_s",
    "answer_mode",
}


@pytest.mark.parametrize(
    ("answer", "golds", "units", "right"),
    [
        pytest.param("Denver Broncos", ["the Broncos", "Denver Broncos"], 1, True, id="exact"),
        pytest.param("The Denver Broncos won Super Bowl 50 [1].", ["Denver Broncos"], 1, True,
                     id="a-cited-sentence-holding-the-span"),
        pytest.param("Six-time Grammy winner Lady Gaga sang.", ["Six"], 1, True,
                     id="hyphenated-word"),
        pytest.param("Broncos", ["Denver Broncos"], 1, False, id="part-of-the-span"),
        pytest.param("Carolina", ["Denver Broncos"], 1, False, id="another-team"),
        pytest.param("Denver Broncos. Carolina. Santa Clara.", ["Denver Broncos"], 3, False,
                     id="three-units"),
        pytest.param("Denver Broncos " + "word " * 60, ["Denver Broncos"], 1, False,
                     id="over-60-words"),
        pytest.param("anything", [], 1, False, id="no-gold"),
    ],
)  # fmt: skip
def test_correct_means_the_gold_span_in_a_short_answer(
    answer: str, golds: list[str], units: int, right: bool
) -> None:
    assert is_correct(answer, golds, units) is right


def test_selective_accuracy_keeps_the_highest_trust_share() -> None:
    labels = [1, 0, 1, 1, 0, 0, 1, 1, 1, 0]
    scores = [0.9, 0.1, 0.8, 0.7, 0.2, 0.6, 0.95, 0.85, 0.5, 0.3]
    # 80% of 10 = the 8 highest: all but the 0.1 and 0.2 answers (both wrong).
    assert selective_accuracy(labels, scores, 0.8) == pytest.approx(6 / 8)
    assert selective_accuracy(labels, scores, 1.0) == pytest.approx(0.6)
    assert selective_accuracy(labels, scores, 0.01) == 1.0  # at least one answer
    assert selective_accuracy([], [], 0.8) is None


def test_qa_metrics_skip_errors_and_unscored_answers() -> None:
    def rec(label: int, score: float | None, latency: float) -> dict[str, object]:
        return {"id": "q", "label": label, "score": score, "signals": {}, "f1": float(label),
                "gold_contained": label, "retrieved": 1, "latency_s": latency, "units": 1,
                "answer_mode": "extractive"}  # fmt: skip

    failed = {"id": "x", "label": None, "score": None, "signals": {}, "error": "timeout"}
    records = [rec(1, 0.9, 1.0), rec(0, 0.2, 3.0), rec(1, 0.7, 2.0), rec(0, None, 5.0), failed]
    m = qa_metrics(records)
    assert set(m) >= KEYS
    assert m["n"] == 4 and m["errors"] == 1
    assert m["accuracy"] == 0.5
    assert m["auroc"] == 1.0
    assert m["selective_accuracy@80"] == 1.0  # round(0.8 * 3) = 2 highest: both correct
    assert m["latency_p50_s"] == 2.5
    assert m["answer_mode"] == "extractive"
    assert qa_metrics([])["accuracy"] is None


def _tiny_squad(path: Path) -> None:
    paragraphs = [
        ("Super Bowl 50 was played on February 7, 2016, at Levi's Stadium in Santa Clara. "
         "The Denver Broncos defeated the Carolina Panthers 24-10.",
         [("q1", "Which team won Super Bowl 50?", "Denver Broncos"),
          ("q2", "Where was Super Bowl 50 played?", "Levi's Stadium")]),
        ("The Amazon rainforest covers most of the Amazon basin of South America. The basin "
         "covers seven million square kilometres.",
         [("q3", "How large is the Amazon basin?", "seven million square kilometres")]),
    ]  # fmt: skip
    data = {"data": [{"title": f"Article_{i}", "paragraphs": [
        {"context": ctx, "qas": [{"id": qid, "question": q,
                                  "answers": [{"text": a, "answer_start": ctx.find(a)}]}
                                 for qid, q, a in qas]}]}
        for i, (ctx, qas) in enumerate(paragraphs)]}  # fmt: skip
    path.write_text(json.dumps(data))


@pytest.mark.integration
def test_eval_qa_prints_the_contract_keys(llm: LLMEndpoint, tmp_path: Path) -> None:
    squad = tmp_path / "squad.json"
    _tiny_squad(squad)
    out = tmp_path / "records.jsonl"
    env = {**os.environ, "RAGTRUST_LLM_BASE_URL": llm.base_url, "RAGTRUST_LLM_MODEL": llm.model,
           "RAGTRUST_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}  # fmt: skip
    done = subprocess.run(
        [RAGTRUST, "eval", "qa", "--data", str(squad), "--preset", "fast", "--json",
         "--out", str(out), "--plot", str(tmp_path / "plots")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert set(metrics) >= KEYS
    assert metrics["n"] == 3 and metrics["errors"] == 0
    assert metrics["latency_p50_s"] > 0
    assert metrics["answer_mode"] == "extractive"
    assert metrics["accuracy"] >= 2 / 3  # quoted: the Broncos, Levi's Stadium, seven million
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == ["q1", "q2", "q3"]
    assert all({"id", "label", "score", "signals"} <= set(r) for r in rows)
    assert all(r["label"] in (0, 1) and r["score"] is not None for r in rows)
    # Each question's own paragraph is among the retrieved ones (2 paragraphs, top_k 3).
    assert all(r["retrieved"] == 1 for r in rows)
    assert {"reliability.png", "coverage.png"} <= {p.name for p in (tmp_path / "plots").iterdir()}
    # The temporary tenant lives in a temporary data dir: nothing written to the real one.
    assert not (tmp_path / "data" / "ragtrust.db").exists()
