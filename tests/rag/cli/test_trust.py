"""The trust commands: calibrate from scored records (no LLM), and the hallucination eval's
JSON contract against the real vLLM on a tiny slice."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import LLMEndpoint
from trust.calibration import load

RAGTRUST = str(Path(sys.executable).parent / "ragtrust")
HALUEVAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "halueval" / "qa_dev.jsonl"


def test_calibrate_refits_from_an_evals_records(tmp_path: Path) -> None:
    rng = random.Random(1)
    records = tmp_path / "records.jsonl"
    with records.open("w") as f:
        for i in range(60):
            y = i % 2
            signals = {"grounding": rng.uniform(0.5, 1) if y else rng.uniform(0, 0.6),
                       "confidence": rng.random(), "consistency": None}  # fmt: skip
            f.write(
                json.dumps({"id": str(i), "label": y, "score": None, "signals": signals}) + "\n"
            )
    target = tmp_path / "calibration.json"
    done = subprocess.run([RAGTRUST, "trust", "calibrate", "--data", str(records), "--out",
                           str(target)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n"] == 60 and report["auroc_on_fit_data"] > 0.8
    cal = load(target)
    assert {"grounding", "confidence", "confidence+grounding"} <= set(cal.models)


@pytest.mark.integration
@pytest.mark.skipif(not HALUEVAL.exists(), reason="needs ../shared/data/halueval")
def test_calibrate_rescoring_pays_for_signals_the_shipped_fit_dropped(
    llm: LLMEndpoint, tmp_path: Path
) -> None:
    """The shipped fit gives reflection no weight, so answers scored with it never ask for
    reflection; a refit must still see it, or a dropped signal could never come back."""
    assert "reflection" not in load().uses(["reflection", "grounding"])
    env_overrides = {"RAGTRUST_LLM_BASE_URL": llm.base_url, "RAGTRUST_LLM_MODEL": llm.model}
    target = tmp_path / "calibration.json"
    done = subprocess.run(
        [RAGTRUST, "trust", "calibrate", "--data", str(HALUEVAL), "--limit", "5",
         "--preset", "thorough", "--out", str(target)],
        capture_output=True, text=True, timeout=600, env={**os.environ, **env_overrides},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n"] == 10
    assert "reflection" in load(target).models


@pytest.mark.integration
@pytest.mark.skipif(not HALUEVAL.exists(), reason="needs ../shared/data/halueval")
def test_eval_hallucination_prints_the_contract_keys(llm: LLMEndpoint, tmp_path: Path) -> None:
    env_overrides = {"RAGTRUST_LLM_BASE_URL": llm.base_url, "RAGTRUST_LLM_MODEL": llm.model}
    out = tmp_path / "records.jsonl"
    done = subprocess.run(
        [RAGTRUST, "eval", "hallucination", "--data", str(HALUEVAL), "--preset", "fast",
         "--limit", "2", "--json", "--out", str(out), "--plot", str(tmp_path / "plots")],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env_overrides},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert {"auroc", "auroc_length_matched", "f1", "f1_always_flag", "ece", "n"} <= set(metrics)
    assert metrics["n"] == 4
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["label"] for r in rows] == [1, 0, 1, 0]
    assert {"id", "label", "score", "signals"} <= set(rows[0])
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "coverage.png",
        "reliability.png",
        "roc.png",
        "scores.png",
    ]
