from __future__ import annotations

from pathlib import Path

import pytest

from rag.core.settings import ROOT
from rag.squad import f1_score, load_squad, normalize, token_f1

SQUAD = ROOT.parent / "shared" / "data" / "squad" / "dev.json"


@pytest.mark.parametrize(
    ("pred", "gold", "f1"),
    [
        pytest.param("The Eiffel Tower", "eiffel tower", 1.0, id="articles-and-case"),
        pytest.param("Denver Broncos", "Broncos", 2 / 3, id="partial"),
        pytest.param("Paris.", "paris", 1.0, id="punctuation"),
        pytest.param("London", "Paris", 0.0, id="disjoint"),
        pytest.param("", "Paris", 0.0, id="empty"),
    ],
)
def test_token_f1_follows_the_official_script(pred: str, gold: str, f1: float) -> None:
    assert token_f1(pred, gold) == pytest.approx(f1)


def test_f1_takes_the_best_gold_answer() -> None:
    assert f1_score("in 1990", ["1990", "the year 1990"]) == pytest.approx(2 / 3)


def test_normalize_strips_articles_punctuation_and_space() -> None:
    assert normalize("  The  cat, a dog!") == "cat dog"


@pytest.mark.skipif(not SQUAD.exists(), reason="shared SQuAD data not present")
def test_load_squad_flattens_every_question() -> None:
    items = load_squad(Path(SQUAD))
    assert len(items) == 632
    first = items[0]
    assert set(first) == {"id", "question", "context", "answers", "title"}
    assert all(a in it["context"] for it in items[:50] for a in it["answers"])
