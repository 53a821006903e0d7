from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.bm25 import Bm25Index

TEXTS = [
    "Interleukin-6 (IL-6) levels rise in type 2 diabetes.",
    "Running shoes wear out after about 800 kilometres.",
    "The patients were running a fever; IL-6 was not measured.",
]


def test_stemming_and_short_tokens_match(tmp_path: Path) -> None:
    index = Bm25Index.build(TEXTS)
    ids, scores = index.search("IL 6 in type 2 diabetic patients", 3)
    assert ids[0] == 0
    assert np.all(np.diff(scores) <= 0)
    ids, _ = index.search("runs", 3)  # stemmed: "running" and "runs" meet
    assert set(ids.tolist()) == {1, 2}


def test_round_trips_through_disk(tmp_path: Path) -> None:
    Bm25Index.build(TEXTS).save(tmp_path / "bm25")
    loaded = Bm25Index.load(tmp_path / "bm25")
    assert loaded.search("shoes", 3)[0].tolist() == [1]


def test_unknown_words_and_empty_index_return_nothing(tmp_path: Path) -> None:
    assert len(Bm25Index.build(TEXTS).search("zebra quagga", 5)[0]) == 0
    empty = Bm25Index.build([])
    empty.save(tmp_path / "e")
    assert len(Bm25Index.load(tmp_path / "e").search("anything", 5)[0]) == 0


def test_mask_restricts_inside_scoring() -> None:
    index = Bm25Index.build(TEXTS)
    ids, _ = index.search("IL-6", 1, mask=np.array([False, True, True]))
    assert ids.tolist() == [2]
