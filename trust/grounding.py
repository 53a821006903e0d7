"""Grounding: is each sentence of the answer backed by the context?

A sentence's support is the share of the content it adds to the question (its novel words)
that the context contains, names and numbers weighing most; a sentence that only restates the
question is judged on all its content words. The answer's grounding is its weakest sentence,
because one invented claim makes an answer wrong however many true ones surround it. Lexical
on purpose: no NLI model is available offline, and a fabricated name or number — the typical
RAG hallucination — is exactly a token the context lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trust.text import Sentence, content_tokens, content_words, novel_words, sentences, stem

UNSUPPORTED_BELOW = 0.5
NAME_WEIGHT, OTHER_WEIGHT = 1.0, 0.1
"""Names and numbers carry a sentence's checkable claims; other words are often paraphrase
(a faithful summary says "protesters" where the source said "activists")."""


@dataclass(frozen=True)
class SentenceSupport:
    sentence: Sentence
    support: float
    missing: tuple[str, ...]
    """The sentence's tokens the context lacks (why it is unsupported)."""


@dataclass(frozen=True)
class Grounding:
    score: float | None
    """Support of the weakest sentence; None when the answer has no sentence at all."""
    sentences: tuple[SentenceSupport, ...]

    def unsupported(self, below: float = UNSUPPORTED_BELOW) -> list[SentenceSupport]:
        return [s for s in self.sentences if s.support < below]


def sentence_support(sentence: str, question: str, context_vocab: set[str]) -> SentenceSupport:
    """Support of one sentence against the (stemmed) vocabulary of the context: the weighted
    share of its claim words the context contains."""
    words = novel_words(sentence, question) or content_words(sentence)
    whole = Sentence(sentence, 0, len(sentence))
    if not words:
        return SentenceSupport(whole, 1.0, ())
    weights = [NAME_WEIGHT if _is_name_or_number(w) else OTHER_WEIGHT for w in words]
    found = sum(wt for w, wt in zip(words, weights, strict=True) if stem(w) in context_vocab)
    missing = tuple(dict.fromkeys(stem(w) for w in words if stem(w) not in context_vocab))
    return SentenceSupport(whole, found / sum(weights), missing)


def _is_name_or_number(word: str) -> bool:
    return word[:1].isupper() or any(c.isdigit() for c in word)


def ground(answer: str, question: str, contexts: Sequence[str]) -> Grounding:
    """Per-sentence support of ``answer`` by ``contexts``, with offsets into ``answer``."""
    vocab = {t for c in contexts for t in content_tokens(c)}
    rows = []
    for sent in sentences(answer):
        s = sentence_support(sent.text, question, vocab)
        rows.append(SentenceSupport(sent, s.support, s.missing))
    score = min((r.support for r in rows), default=None)
    return Grounding(score, tuple(rows))
