"""Word-level text handling shared by grounding and consistency: sentences with character
offsets, and the *content* of a text as normalized tokens.

The content that needs support is what an answer adds to the question: a long answer that
restates the question has more words but no more claims, so comparing only these tokens keeps
the signals from turning into a proxy for answer length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?=\s|$)|$)|[^\n]+", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")

_STOPWORDS = """a an the and or but if then than so of in on at to for from by with without about as
    into onto over under between among through during before after above below up down out off
    is are was were be been being am do does did done has have had having will would shall
    should can could may might must i me my we our you your he him his she her it its they them
    their this that these those there here who whom whose which what when where why how
    not no nor yes also very just only too more most some any all each both either neither
    other such own same s t don't doesn't didn't isn't aren't wasn't weren't it's that's
    one source sources answer question according document documents"""
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


def sentences(text: str) -> list[Sentence]:
    """Sentences of ``text`` with their character offsets into it (citations kept)."""
    out = []
    for m in _SENTENCE.finditer(text):
        raw = m.group(0)
        stripped = raw.strip()
        if not _WORD.search(stripped):
            continue
        start = m.start() + (len(raw) - len(raw.lstrip()))
        out.append(Sentence(stripped, start, start + len(stripped)))
    return out


def stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to match 'invaded' with 'invade'."""
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def content_tokens(text: str) -> list[str]:
    """Stemmed non-stopword tokens, in order (duplicates kept), citation markers dropped."""
    words = _WORD.findall(_CITATION.sub(" ", text))
    return [stem(w) for w in words if w.lower() not in STOPWORDS]


def novel_tokens(text: str, question: str) -> list[str]:
    """The content tokens of ``text`` that the question does not already contain."""
    asked = set(content_tokens(question))
    return [t for t in content_tokens(text) if t not in asked]


def strip_citations(text: str) -> str:
    return " ".join(_CITATION.sub(" ", text).split())


def content_words(text: str) -> list[str]:
    """The words (as written) behind ``content_tokens``."""
    words = _WORD.findall(_CITATION.sub(" ", text))
    return [w for w in words if w.lower() not in STOPWORDS]


def novel_words(text: str, question: str) -> list[str]:
    """The words (as written) behind ``novel_tokens``: what an embedding model should read."""
    asked = set(content_tokens(question))
    return [w for w in content_words(text) if stem(w) not in asked]
