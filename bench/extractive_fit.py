"""Fitting and ablating the extractive selector (rag/extractive.py) on SQuAD dev.

Every paragraph of the file is indexed into a temporary tenant (as ``ragtrust eval qa`` does);
for each question the top three chunks of the hybrid retrieval are cut into units and every
unit gets its features. A logistic regression (is the gold span in this unit?) over the units
of the first ``--tune-articles`` articles gives the weights; the rest of the articles report
how often the best unit (and the best two) hold the gold span, for each feature subset. No
LLM is involved: this measures the selector alone.

Run: .venv/bin/python -m bench.extractive_fit [--data ../shared/data/squad/dev.json]
writes bench/results/extractive_fit.json.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import track

from rag.core.settings import ROOT
from rag.extractive import FEATURES, WEIGHTS, candidates
from rag.qa_eval import qa_index
from rag.squad import contains, load_squad

ABLATIONS: dict[str, tuple[str, ...]] = {
    "dense": ("dense",),
    "lexical": ("lexical",),
    "dense+lexical": ("dense", "lexical"),
    "+retrieval": ("dense", "lexical", "retrieval"),
    "+answer_type": ("dense", "lexical", "retrieval", "answer_type"),
    "all": FEATURES,
}


def unit_rows(data: Path, console: Console) -> list[dict[str, Any]]:
    items = load_squad(data)
    titles = list(dict.fromkeys(it["title"] for it in items))
    rows = []
    with qa_index(items, console) as session:
        for it in track(items, description="features", console=console):
            hits = session.retriever.search("eval", it["question"], 3)
            chunks = [(h.chunk.title, h.chunk.text, h.score) for h in hits]
            cands = candidates(it["question"], chunks, session.retriever.embedder)
            rows.append({
                "article": titles.index(it["title"]),
                "units": [{"f": c.features,
                           "y": int(any(contains(c.unit.text, g) for g in it["answers"]))}
                          for c in cands],
            })  # fmt: skip
    return rows


def top_k_hit(rows: Sequence[dict[str, Any]], w: np.ndarray, feats: Sequence[str], k: int) -> float:
    hit = 0
    for r in rows:
        scores = [float(np.dot(w, [u["f"][f] for f in feats])) for u in r["units"]]
        best = np.argsort(scores)[::-1][:k]
        hit += any(r["units"][i]["y"] for i in best)
    return round(hit / len(rows), 4)


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/squad/dev.json")
    ap.add_argument("--tune-articles", type=int, default=12)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/extractive_fit.json")
    args = ap.parse_args()
    console = Console(stderr=True)
    rows = [r for r in unit_rows(args.data, console) if r["units"]]
    tune = [r for r in rows if r["article"] < args.tune_articles]
    report = [r for r in rows if r["article"] >= args.tune_articles]
    result: dict[str, Any] = {"data": str(args.data), "tune_questions": len(tune),
                              "report_questions": len(report), "ablation": {}}  # fmt: skip
    for name, feats in ABLATIONS.items():
        x = np.asarray([[u["f"][f] for f in feats] for r in tune for u in r["units"]])
        y = np.asarray([u["y"] for r in tune for u in r["units"]])
        w = LogisticRegression(C=1.0, max_iter=1000).fit(x, y).coef_[0]
        result["ablation"][name] = {
            "weights": dict(zip(feats, (round(float(v), 3) for v in w), strict=True)),
            "tune_top1": top_k_hit(tune, w, feats, 1), "tune_top2": top_k_hit(tune, w, feats, 2),
            "report_top1": top_k_hit(report, w, feats, 1),
            "report_top2": top_k_hit(report, w, feats, 2),
        }  # fmt: skip
        console.print(name, result["ablation"][name])
    shipped = np.asarray([WEIGHTS[f] for f in FEATURES])
    result["shipped"] = {
        "weights": WEIGHTS,
        **{f"{part}_top{k}": top_k_hit(rows_, shipped, FEATURES, k)
           for part, rows_ in (("tune", tune), ("report", report)) for k in (1, 2)},
    }  # fmt: skip
    console.print("shipped", result["shipped"])
    result["gold_in_any_unit"] = round(
        sum(any(u["y"] for u in r["units"]) for r in rows) / len(rows), 4
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
