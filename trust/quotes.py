"""Trust for extractive answers, and attribution of any answer to quotes of its sources.

An extractive answer is verbatim, so grounding says nothing about it; what can be wrong is
the *choice*. Its signals say how clear the choice was and whether independent opinions
agree with it:

- ``coverage``: the share of the question's (idf-weighted) words the best unit holds;
- ``similarity``: the cosine of the best unit and the question;
- ``margin``: how far ahead of the runner-up it is;
- ``choice``: the share of the selector's softmax (over every candidate) the chosen units
  hold — the margin seen against the whole field, not the runner-up alone;
- ``agreement``: whether the dense-only and the lexical-only pick are the same unit;
- ``answer_type``: the unit holds the kind of thing asked for (a number for "how many");
- ``consistency``: the model's k samples, asked the question over the best units, state
  what the chosen unit states (its numbers, names, dates) — the LLM's independent opinion;
- ``vote``: the share of samples that say more of the chosen units than of any other unit
  the model read.

They are fused and calibrated like the generative signals, by their own fit
(data/trust/calibration-extractive.json, fitted on SQuAD dev answers of the pipeline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trust.grounding import UNSUPPORTED_BELOW, sentence_support
from trust.text import content_tokens, novel_words, sentences, strip_citations

QUOTE_SIGNALS = (
    "coverage", "similarity", "margin", "choice", "agreement", "answer_type", "consistency",
    "vote",
)  # fmt: skip


def sample_agreement(quote: str, sample: str, question: str) -> float:
    """Grounding's sentence support of what the sample adds to the question, against the
    quote's vocabulary (names and numbers weigh most); 0 for a sample that adds nothing."""
    if not novel_words(sample, question):
        return 0.0
    return sentence_support(sample, question, set(content_tokens(quote))).support


def quote_consistency(quote: str, samples: Sequence[str], question: str) -> float | None:
    texts = [s for s in samples if s.strip()]
    if not texts:
        return None
    return sum(sample_agreement(quote, s, question) for s in texts) / len(texts)


def sample_vote(
    chosen: str, others: Sequence[str], samples: Sequence[str], question: str
) -> float | None:
    """Share of samples that agree more with the chosen units than with any other unit."""
    texts = [s for s in samples if s.strip()]
    if not texts:
        return None
    wins = 0
    for s in texts:
        mine = sample_agreement(chosen, s, question)
        if mine > 0 and all(mine >= sample_agreement(o, s, question) for o in others):
            wins += 1
    return wins / len(texts)


@dataclass(frozen=True)
class Attribution:
    """One sentence of an answer and the unit that supports it best."""

    start: int
    end: int
    source: int
    """Index (0-based) into the candidate units given to ``attribute``."""
    support: float


def attribute(
    answer: str, question: str, units: Sequence[str]
) -> tuple[list[Attribution], list[tuple[int, int, float]]]:
    """Each sentence of ``answer`` with its best-supporting unit (claim words of the sentence
    found in the unit, names and numbers weighing most), and the sentences no unit supports
    (start, end, best support)."""
    vocabs = [set(content_tokens(u)) for u in units]
    found, missing = [], []
    for sent in sentences(answer):
        if not strip_citations(sent.text):
            continue
        best, at = 0.0, -1
        for i, vocab in enumerate(vocabs):
            s = sentence_support(sent.text, question, vocab).support
            if s > best:
                best, at = s, i
        if at >= 0 and best >= UNSUPPORTED_BELOW:
            found.append(Attribution(sent.start, sent.end, at, round(best, 4)))
        else:
            missing.append((sent.start, sent.end, round(best, 4)))
    return found, missing
