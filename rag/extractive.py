"""Extractive answers: the one or two units of the retrieved chunks that answer the question,
quoted verbatim.

A 135M model asked to write an answer invents one; asked which sentence answers, it picks the
first listed. What it cannot do, retrieval and a few cheap features can: the unit whose words
and meaning are closest to the question's, that holds what the question asks for (a number
for "how many", a name for "who"), and that adds something the question does not already say.
Each feature is scored per unit and fused with weights fitted on SQuAD dev questions
(docs/extractive.md has the fit and the ablation); the model still samples answers that trust
checks against the chosen quote.

A second unit joins the first when the choice is close (the runner-up scores within
``SECOND_WITHIN`` of the best): a reader is better served by two sentences, one of them right,
than by one wrong sentence, and the answer stays short (at most ``MAX_ANSWER_WORDS``).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.core.embedder import Embedder
from rag.units import Unit, units
from trust.text import STOPWORDS, stem

_WORD = re.compile(r"[A-Za-z0-9]+(?:[.,][0-9]+)*")
_NUMBER = re.compile(r"\d")
_YEAR = re.compile(r"\b1\d{3}\b|\b20\d{2}\b|\b\d{1,2}(?:st|nd|rd|th)\b")
# fmt: off
_MONTHS = frozenset((
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "century", "centuries", "decade",
))
_NUMBER_WORDS = frozenset((
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "hundred", "thousand", "million", "billion", "dozen", "half", "percent", "twice",
))
# fmt: on
MAX_ANSWER_WORDS = 60
SECOND_WITHIN = 1.0
"""A second unit joins when the runner-up's fused score (a logit) is within this of the
best's: on SQuAD dev articles 0-11 it lifted the gold span's presence from 0.80 to 0.85 with
16% of answers two units long (articles 12-23: 0.84 to 0.87)."""

FEATURES = ("dense", "lexical", "context", "retrieval", "answer_type", "novelty")
WEIGHTS = {
    "dense": 3.036,
    "lexical": 5.136,
    "context": -0.665,
    "retrieval": 3.054,
    "answer_type": 0.989,
    "novelty": 0.058,
}
"""A logistic fit (is the gold span in this unit?) over every unit of the top three chunks,
SQuAD dev articles 0-11 (``bench/extractive_fit.py``; docs/extractive.md). ``context`` (how
well the unit before it matches the question) is negative: then that one is the answer."""
NO_ANSWER_BELOW = 0.3
"""A best unit that shares no word with the question and has a cosine below this answers
nothing: the documents do not contain the answer."""


@dataclass(frozen=True)
class Candidate:
    source: int
    """1-based number of the retrieved chunk the unit is in (the answer's [n])."""
    unit: Unit
    features: dict[str, float]
    score: float = 0.0


@dataclass(frozen=True)
class Selection:
    chosen: tuple[Candidate, ...]
    """One or two units, best first; empty when no unit could answer."""
    ranked: tuple[Candidate, ...]
    """Every candidate, best first (trust reads the margin and the runners-up)."""
    dense_pick: Candidate | None
    lexical_pick: Candidate | None

    @property
    def margin(self) -> float:
        if len(self.ranked) < 2:
            return 1.0
        return self.ranked[0].score - self.ranked[1].score


def expected_type(question: str) -> str | None:
    """What kind of thing the question asks for, from its wh-phrase."""
    q = question.lower()
    if re.search(r"\bhow (many|much|long|old|far|large|big|tall|often|high|soon)\b|\bdeadline\b|"
                 r"\bwhat (percentage|percent|number|amount|proportion)\b", q):  # fmt: skip
        return "number"
    if re.search(r"\bwhen\b|\b(what|which|in what) (year|date|day|month|century|decade|time)\b", q):
        return "date"
    if re.search(r"\bwho(m|se)?\b", q):
        return "name"
    if re.search(r"\bwhere\b", q):
        return "name"
    return None


def _tokens(text: str) -> list[str]:
    """Stemmed content words as trust.text has them, but numbers kept whole ("1,500.01",
    "EUR 5,000"): a question names the amount it asks about, and the unit must match it."""
    return [stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS]


def _type_match(kind: str | None, text: str, asked: set[str]) -> float:
    """1 when the unit holds something of the asked kind that the question does not already
    say, 0 when it holds nothing of it, 0.5 when the question asks for no particular kind."""
    if kind is None:
        return 0.5
    words = _WORD.findall(text)
    new = [w for w in words if stem(w) not in asked]
    if kind == "number":
        ok = any(_NUMBER.search(w) or w.lower() in _NUMBER_WORDS for w in new)
    elif kind == "date":
        ok = bool(_YEAR.search(text)) or any(w.lower() in _MONTHS or w.isdigit() for w in new)
    else:  # a name: a capitalized word the question lacks (a sentence's first only if no stopword)
        ok = any(w[:1].isupper() for w in new[1:]) or any(
            w[:1].isupper() and w.lower() not in STOPWORDS for w in new[:1]
        )
    return 1.0 if ok else 0.0


class UnitCache:
    """Each chunk's units and their vectors, by a hash of the chunk's text: a tenant's chunks
    come back question after question, and cutting and embedding their ~25 units was most of
    an answer's service time with 16 in flight. Bounded (least recently used goes)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: OrderedDict[bytes, tuple[list[Unit], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, texts: Sequence[str], embedder: Embedder) -> list[tuple[list[Unit], np.ndarray]]:
        keys = [hashlib.sha256(t.encode()).digest() for t in texts]
        with self._lock:
            found = {k: self._items[k] for k in keys if k in self._items}
            for k in found:
                self._items.move_to_end(k)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            cut = {k: units(t) for k, t in missing.items()}
            reads = [_read(u) for us in cut.values() for u in us]
            vecs = embedder.encode(reads) if reads else np.zeros((0, embedder.dim), np.float32)
            at = 0
            for k, us in cut.items():
                found[k] = (us, vecs[at : at + len(us)])
                at += len(us)
            with self._lock:
                self._items.update((k, found[k]) for k in cut)
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return [found[k] for k in keys]


def _read(u: Unit) -> str:
    """What the embedder reads of a unit: a list item or sentence with its heading."""
    return f"{u.heading}: {u.read}" if u.heading and u.kind != "row" else u.read


def candidates(
    question: str,
    chunks: Sequence[tuple[str, str, float]],
    embedder: Embedder,
    cache: UnitCache | None = None,
) -> list[Candidate]:
    """Every unit of ``chunks`` ((title, text, retrieval score) in rank order) with its
    features; a unit repeated in two overlapping chunks is kept once, in the better one."""
    per_chunk = (cache or UnitCache(len(chunks) or 1)).get([t for _, t, _ in chunks], embedder)
    found: list[tuple[int, Unit]] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    for n, (us, vecs) in enumerate(per_chunk, 1):
        for u, v in zip(us, vecs, strict=True):
            key = " ".join(u.text.lower().split())
            if key not in seen:
                seen.add(key)
                found.append((n, u))
                rows.append(v)
    if not found:
        return []
    reads = [_read(u) for _, u in found]
    dense = np.asarray(rows) @ embedder.encode([question])[0]
    q_tokens = set(_tokens(question))
    unit_tokens = [set(_tokens(r)) for r in reads]
    df = Counter(t for toks in unit_tokens for t in toks)
    n_units = len(found)

    def idf(t: str) -> float:
        return math.log(1 + (n_units - df[t] + 0.5) / (df[t] + 0.5))

    q_weight = sum(idf(t) for t in q_tokens) or 1.0
    lexical = [sum(idf(t) for t in q_tokens & toks) / q_weight for toks in unit_tokens]
    top_score = max(s for _, _, s in chunks) or 1.0
    kind = expected_type(question)
    out = []
    for i, (n, u) in enumerate(found):
        prev = lexical[i - 1] if i > 0 and found[i - 1][0] == n else 0.0
        novel = unit_tokens[i] - q_tokens
        out.append(
            Candidate(
                source=n,
                unit=u,
                features={
                    "dense": float(dense[i]),
                    "lexical": lexical[i],
                    "context": prev,
                    "retrieval": chunks[n - 1][2] / top_score,
                    "answer_type": _type_match(kind, u.read, q_tokens),
                    "novelty": min(1.0, len(novel) / 3),
                },
            )
        )
    return out


def fused(features: dict[str, float], weights: dict[str, float] = WEIGHTS) -> float:
    return sum(weights[f] * features[f] for f in FEATURES)


def select(
    question: str,
    chunks: Sequence[tuple[str, str, float]],
    embedder: Embedder,
    *,
    cache: UnitCache | None = None,
    weights: dict[str, float] = WEIGHTS,
    second_within: float = SECOND_WITHIN,
) -> Selection:
    cands = candidates(question, chunks, embedder, cache)
    scored = sorted(
        (Candidate(c.source, c.unit, c.features, fused(c.features, weights)) for c in cands),
        key=lambda c: -c.score,
    )
    best = scored[0].features if scored else None
    if best is None or (best["lexical"] == 0 and best["dense"] < NO_ANSWER_BELOW):
        return Selection((), tuple(scored), None, None)
    chosen = [scored[0]]
    if len(scored) > 1 and scored[0].score - scored[1].score <= second_within:
        words = len(scored[0].unit.text.split()) + len(scored[1].unit.text.split())
        if words <= MAX_ANSWER_WORDS:
            chosen.append(scored[1])
    return Selection(
        tuple(chosen),
        tuple(scored),
        max(scored, key=lambda c: c.features["dense"]),
        max(scored, key=lambda c: c.features["lexical"] + 1e-3 * c.features["dense"]),
    )


def answer_text(chosen: Sequence[Candidate]) -> str:
    """The units as the answer shows them, each followed by its citation."""
    return " ".join(f"{c.unit.text} [{c.source}]" for c in chosen)


def as_array(cands: Sequence[Candidate]) -> np.ndarray:
    return np.asarray([[c.features[f] for f in FEATURES] for c in cands], dtype=float)
