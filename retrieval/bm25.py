"""The lexical half of hybrid retrieval: BM25 over chunk texts with bm25s.

English stemming and stop words, and a tokenizer that keeps one-character and numeric tokens
("IL-6", "type 2", "p < 0.05" matter in enterprise and scientific text). The title is
indexed with each chunk so a chunk from the middle of a document still matches its subject.
The vocabulary is saved beside the index: a query must be tokenized exactly as the chunks were.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from bm25s.tokenization import Tokenizer

from retrieval.fusion import top

TOKEN_PATTERN = r"(?u)\b\w+\b"
# Anserini/Pyserini's BEIR defaults (short passages saturate term frequency early and
# should not be punished much for length); taken from the literature, not fitted here.
K1, B = 0.9, 0.4
_PARAMS = "ragtrust-bm25.json"

logging.getLogger("bm25s").setLevel(logging.WARNING)


def _tokenizer() -> Tokenizer:
    return Tokenizer(
        lower=True, splitter=TOKEN_PATTERN, stopwords="en", stemmer=Stemmer.Stemmer("english")
    )


class Bm25Index:
    def __init__(self, model: bm25s.BM25 | None, tokenizer: Tokenizer, size: int) -> None:
        self._model = model  # None for an empty index: bm25s cannot index zero documents
        self._tokenizer = tokenizer
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> Bm25Index:
        tokenizer = _tokenizer()
        if not texts:
            return cls(None, tokenizer, 0)
        tokens = tokenizer.tokenize(list(texts), return_as="tuple", show_progress=False)
        model = bm25s.BM25(k1=K1, b=B)
        model.index(tokens, show_progress=False)
        return cls(model, tokenizer, len(texts))

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / _PARAMS).write_text(json.dumps({"size": self.size, "k1": K1, "b": B}))
        if self._model is not None:
            self._model.save(str(path), show_progress=False)
            self._tokenizer.save_vocab(str(path))

    @classmethod
    def load(cls, path: Path) -> Bm25Index:
        size = int(json.loads((path / _PARAMS).read_text())["size"])
        tokenizer = _tokenizer()
        if size == 0:
            return cls(None, tokenizer, 0)
        tokenizer.load_vocab(str(path))
        model = bm25s.BM25.load(str(path), show_progress=False)
        return cls(model, tokenizer, size)

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray | None:
        """BM25 score of every chunk (None when no query term is in the vocabulary).

        ``mask`` (True = allowed, per chunk position) applies metadata filters: a filtered-out
        chunk scores 0.
        """
        if self._model is None:
            return None
        ids = self._tokenizer.tokenize(
            [query], update_vocab=False, return_as="ids", show_progress=False
        )[0]
        ids = [i for i in ids if i]  # 0 is bm25s' empty-string token
        if not ids:
            return None
        weights = None if mask is None else mask.astype(np.float32)
        return np.asarray(self._model.get_scores(ids, weight_mask=weights), np.float32)

    def search(
        self, query: str, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk positions and scores of the best ``k`` matches (score > 0 only)."""
        return best(self.scores(query, mask), k)


def best(scores: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best positive entries of a full score array (from ``Bm25Index.scores``)."""
    if scores is None or k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    hits = np.flatnonzero(scores > 0)
    return top(hits, scores[hits], k)


_STEMMER = Stemmer.Stemmer("english")
_STOPWORDS = frozenset(STOPWORDS_EN)


def terms(text: str) -> list[str]:
    """The text's BM25 terms as strings, exactly as ``_tokenizer`` makes them (lowercase,
    split, stop words out, stemmed): what the PostgreSQL backend stores and queries."""
    words = [w for w in re.findall(TOKEN_PATTERN, text.lower()) if w not in _STOPWORDS]
    return list(_STEMMER.stemWords(words))
