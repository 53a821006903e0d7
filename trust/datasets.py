"""Readers for the labelled formats the trust evaluations take (HaluEval QA, SummEdits)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HaluEvalItem:
    id: str
    question: str
    knowledge: str
    right_answer: str
    hallucinated_answer: str

    @property
    def length_matched(self) -> bool:
        """The two answers differ by at most 2 words, so length cannot tell them apart."""
        return abs(len(self.right_answer.split()) - len(self.hallucinated_answer.split())) <= 2


@dataclass(frozen=True)
class SummEditsItem:
    id: str
    doc: str
    summary: str
    label: int
    split: str


def load_halueval(path: Path) -> list[HaluEvalItem]:
    items = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if line.strip():
                row = json.loads(line)
                items.append(
                    HaluEvalItem(
                        str(row.get("id", i)),
                        row["question"],
                        row["knowledge"],
                        row["right_answer"],
                        row["hallucinated_answer"],
                    )  # fmt: skip
                )
    return items


def load_summedits(path: Path) -> list[SummEditsItem]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        SummEditsItem(
            str(r.get("id", i)), r["doc"], r["summary"], int(r["label"]), str(r.get("split", ""))
        )  # fmt: skip
        for i, r in enumerate(rows)
    ]
