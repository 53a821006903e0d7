"""SQuAD v1.1 reading and its official answer normalization and token-F1."""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from pathlib import Path
from typing import Any

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains(answer: str, gold: str) -> bool:
    """The normalized gold span occurs in the answer as whole words, with punctuation
    dropped (SQuAD's normalization) or read as a space, so that "Six" is found in
    "Six-time Grammy winner" and "Tyndale" in "Tyndale's" as a reader finds them."""
    g = normalize(gold)
    if not g:
        return False
    spaced = "".join(" " if ch in _PUNCT else ch for ch in answer)
    return any(f" {g} " in f" {normalize(a)} " for a in (answer, spaced))


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(gold).split()
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, golds: list[str]) -> float:
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def load_squad(path: Path) -> list[dict[str, Any]]:
    """One item per question: id, question, context (its paragraph), answers, title."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [
        {
            "id": qa["id"],
            "question": qa["question"],
            "context": para["context"],
            "answers": [a["text"] for a in qa["answers"]],
            "title": article.get("title", ""),
        }
        for article in data
        for para in article["paragraphs"]
        for qa in para["qas"]
    ]
