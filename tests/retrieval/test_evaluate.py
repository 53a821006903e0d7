from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.evaluate import collapse, load_qrels, load_queries, mrr_at, ndcg_at, recall_at


def test_ndcg_uses_grades_as_gain_and_ideal_order() -> None:
    rel = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b", "x"], rel) == pytest.approx(1.0)
    swapped = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at(["b", "a"], rel) == pytest.approx(swapped)
    assert ndcg_at(["x", "y"], rel) == 0.0


def test_recall_and_mrr() -> None:
    rel = {"a": 1, "b": 1}
    assert recall_at(["x", "a"], rel, k=100) == 0.5
    assert mrr_at(["x", "y", "b"], rel) == pytest.approx(1 / 3)
    assert mrr_at(["x"] * 10 + ["a"], rel) == 0.0  # beyond @10


def test_qrels_skip_header_and_non_positive_scores(tmp_path: Path) -> None:
    f = tmp_path / "qrels.tsv"
    f.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td3\t2\n")
    assert load_qrels(f) == {"q1": {"d1": 1}, "q2": {"d3": 2}}
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"_id": "q1", "text": "why"}) + "\n")
    assert load_queries(q) == {"q1": "why"}


def test_collapse_keeps_each_documents_best_chunk() -> None:
    ids = np.array([0, 1, 2, 3])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    doc_of = {0: "a", 1: "a", 2: "b", 3: "c"}.__getitem__
    assert collapse((ids, scores), doc_of, 2) == (["a", "b"], [0.9, 0.7])


def test_eval_command_prints_the_contract_keys(tmp_path: Path) -> None:
    docs = [("d1", "Cats", "Cats purr when they are content."),
            ("d2", "Dogs", "Dogs bark at the postman."),
            ("d3", "Fish", "Fish swim in schools for safety.")]  # fmt: skip
    (tmp_path / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs)
    )
    (tmp_path / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "why do cats purr"})
        + "\n"
        + json.dumps({"_id": "q2", "text": "barking dogs"})
        + "\n"
        + json.dumps({"_id": "q3", "text": "no qrels for me"})
        + "\n"
    )
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    out = tmp_path / "per-query.jsonl"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ragtrust"), "eval", "retrieval",
         "--corpus", str(tmp_path / "corpus.jsonl"), "--queries", str(tmp_path / "queries.jsonl"),
         "--qrels", str(tmp_path / "qrels.tsv"), "--mode", "hybrid", "--json", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ndcg@10"] == 1.0 and result["queries"] == 2 and result["mode"] == "hybrid"
    assert {"recall@100", "mrr@10"} <= set(result)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["q1", "q2"]
    assert lines[0]["ranked"][0] == "d1" and len(lines[0]["scores"]) == len(lines[0]["ranked"])
    assert lines[0]["ndcg@10"] == 1.0
