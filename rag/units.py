"""Answer units: the pieces of a retrieved chunk an extractive answer may quote verbatim.

A unit is a sentence of prose, one item of a list, or one row of a table. A table row alone
("| London | EUR 220 |") says nothing, so it is shown with its column names and the heading
above it, when the chunk has one ("Hotel caps per city - City: London; Maximum rate per
night: EUR 220"); its offsets still point at the row itself in the chunk, so the quote a
user checks is the source's text. Markdown headings are not units: they are the context of
the units under them.

Sentences come from spaCy's rule-based sentencizer on its English tokenizer (spaCy is
already here for Presidio): its tokenizer keeps "U.S." or "Dr." whole, so those do not end a
sentence, and it costs ~1 ms per chunk.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from spacy.language import Language

UnitKind = Literal["sentence", "item", "row"]

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(?=\S)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
MIN_UNIT_CHARS = 12
"""Shorter pieces ("Scope", "1.") are not answers to anything."""


@dataclass(frozen=True)
class Unit:
    text: str
    """What the answer shows: the source's text, a table row with its heading."""
    start: int
    """Offsets of the unit's own text in the chunk (for a row: the row)."""
    end: int
    kind: UnitKind
    heading: str = ""
    """The nearest Markdown heading above it in the chunk."""
    scored: str = ""
    """What selection reads: the text, plus a table's column names for a row."""

    @property
    def read(self) -> str:
        return self.scored or self.text


def units(text: str) -> list[Unit]:
    """The units of a chunk, in order, with offsets into ``text``."""
    out: list[Unit] = []
    heading = ""
    header: list[str] | None = None  # the column names of the table being read
    para: list[tuple[int, str]] = []  # consecutive prose lines (offset, line)

    def flush() -> None:
        if para:
            start = para[0][0]
            end = para[-1][0] + len(para[-1][1])
            out.extend(_sentences(text, start, end, heading))
            para.clear()

    pos = 0
    for line in text.splitlines(keepends=True):
        at, pos = pos, pos + len(line)
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if not stripped:
            flush()
            header = None
            continue
        if m := _HEADING.match(body):
            flush()
            heading, header = m.group("text").strip(), None
            continue
        if stripped.startswith("|") or (header is not None and "|" in stripped):
            flush()
            if _TABLE_RULE.match(stripped):
                continue
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if header is None:
                header = cells
                continue
            lead = at + len(body) - len(body.lstrip())
            pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=False) if c]
            shown = "; ".join(pairs)
            out.append(Unit(f"{heading} - {shown}" if heading else shown, lead,
                            lead + len(stripped), "row", heading, shown))  # fmt: skip
            continue
        header = None
        if m := _ITEM.match(body):
            flush()
            start = at + m.end()
            out.extend(
                Unit(s.text, s.start, s.end, "item", heading)
                for s in _sentences(text, start, at + len(body.rstrip()), heading)
            )
            continue
        para.append((at, body))
    flush()
    return out


def _sentences(text: str, start: int, end: int, heading: str) -> list[Unit]:
    with _lock:  # spaCy does not promise a pipeline is safe to call from two threads
        doc = _pipeline()(text[start:end])
    found = []
    for sent in doc.sents:
        s = sent.text.strip()
        if len(s) < MIN_UNIT_CHARS:
            continue
        lead = start + sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
        for a, b in _clauses(s):
            found.append(Unit(" ".join(s[a:b].split()), lead + a, lead + b, "sentence", heading))
    return found


MAX_UNIT_WORDS = 40
"""A sentence longer than this is quoted by its clauses: an answer of 60 words at most must
fit in two units, and a reader wants the clause that answers, not a paragraph-long sentence."""
_CLAUSE_BREAK = re.compile(
    r";\s+|,\s+(?=(?:and|but|while|which|whereas|although|who|where)\s)|,\s+"
)


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """Offsets of ``sentence``'s clauses: split at the break nearest its middle (a semicolon
    before a comma) until each part has at most MAX_UNIT_WORDS words."""
    if len(sentence.split()) <= MAX_UNIT_WORDS:
        return [(0, len(sentence))]
    middle = len(sentence) / 2
    best = None
    for strong in (True, False):
        breaks = [m for m in _CLAUSE_BREAK.finditer(sentence) if (m.group(0)[0] == ";") == strong]
        ok = [m for m in breaks if len(sentence[: m.start()].split()) >= 8
              and len(sentence[m.end() :].split()) >= 8]  # fmt: skip
        if ok:
            best = min(ok, key=lambda m: abs(m.start() - middle))
            break
    if best is None:
        return [(0, len(sentence))]
    head = sentence[: best.start() + 1]  # the ; or , stays with the first part
    tail_at = best.end()
    return [*_clauses(head), *((a + tail_at, b + tail_at) for a, b in _clauses(sentence[tail_at:]))]


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _pipeline() -> Language:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp
