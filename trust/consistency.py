"""Self-consistency: does the answer say what the model says when asked again, stochastically?

A model that knows the answer repeats it across samples; one that invents it scatters. The
comparison is semantic and restricted to what each text adds to the question: samples that
restate the question in different words would otherwise look alike whatever they claim, and a
long answer would look like its samples merely for sharing their phrasing. Each sample's
agreement blends how much of the answer's content the sample contains (stems, so exact names
and numbers count) with the cosine of their embeddings (paraphrases count); the signal is
the mean over samples, so it reads like the share of samples in the answer's semantic
cluster, as in semantic entropy, without a hard threshold on five samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.core.embedder import Embedder
from trust.text import content_tokens, novel_tokens, novel_words, strip_citations

EQUIVALENT_AT = 0.6
"""Agreement from which a sample counts as saying the same thing (for reporting)."""


@dataclass(frozen=True)
class Consistency:
    score: float | None
    agreements: tuple[float, ...]
    equivalent: int
    """Samples whose agreement reaches EQUIVALENT_AT: the answer's cluster, less the answer."""


def _claim(text: str, question: str) -> str:
    words = novel_words(text, question)
    return " ".join(words) if words else strip_citations(text)


def containment(answer: str, sample: str, question: str) -> float:
    """Share of the answer's novel content tokens that the sample also contains."""
    claims = set(novel_tokens(answer, question))
    if not claims:
        return 0.5  # the answer only restates the question: containment cannot tell
    return len(claims & set(content_tokens(sample))) / len(claims)


def consistency(
    answer: str, samples: Sequence[str], question: str, embedder: Embedder
) -> Consistency:
    texts = [s for s in samples if s.strip()]
    if not answer.strip() or not texts:
        return Consistency(None, (), 0)
    vecs = embedder.encode([_claim(answer, question)] + [_claim(s, question) for s in texts])
    cos = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
    agree = tuple(
        float(0.5 * containment(answer, s, question) + 0.5 * c)
        for s, c in zip(texts, cos, strict=True)
    )
    return Consistency(float(np.mean(agree)), agree, sum(a >= EQUIVALENT_AT for a in agree))
