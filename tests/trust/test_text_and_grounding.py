"""Sentences with offsets, content tokens, and per-sentence grounding."""

from __future__ import annotations

import pytest

from trust.grounding import ground
from trust.text import content_tokens, novel_tokens, sentences

CONTEXT = "The Oberoi Group is a hotel company with its head office in Delhi."


def test_sentence_offsets_index_the_original_text() -> None:
    text = "  Delhi is the city [1].  It was founded in 1934!\nNo more"
    got = sentences(text)
    assert [s.text for s in got] == ["Delhi is the city [1].", "It was founded in 1934!", "No more"]
    assert all(text[s.start : s.end] == s.text for s in got)


@pytest.mark.parametrize(
    ("text", "question", "expected"),
    [
        pytest.param("The head office is in Delhi.", "Where is the head office?", ["delhi"],
                     id="restated-question-words-are-not-claims"),
        pytest.param("It opened in 1934 [2].", "", ["open", "1934"], id="citations-dropped"),
        pytest.param("Arthur's Magazines", "", ["arthur", "magazin"], id="possessive-and-plural"),
    ],
)  # fmt: skip
def test_novel_tokens(text: str, question: str, expected: list[str]) -> None:
    assert novel_tokens(text, question) == expected


def test_a_supported_short_answer_grounds_fully() -> None:
    g = ground("Delhi", "Where is the Oberoi head office?", [CONTEXT])
    assert g.score == 1.0 and g.unsupported() == []


def test_an_invented_city_is_unsupported_and_named_with_offsets() -> None:
    answer = "The Oberoi Group is a hotel company. Its head office is in Mumbai."
    g = ground(answer, "Where is the Oberoi head office?", [CONTEXT])
    bad = g.unsupported()
    assert g.score == 0.0
    assert [s.sentence.text for s in bad] == ["Its head office is in Mumbai."]
    assert answer[bad[0].sentence.start : bad[0].sentence.end] == "Its head office is in Mumbai."
    assert bad[0].missing == ("mumbai",)


def test_restating_the_question_costs_no_support() -> None:
    """Length is not a signal: a long answer that repeats the question plus the right fact
    grounds as well as the bare fact."""
    q = "The Oberoi family is part of a hotel company that has a head office in what city?"
    short = ground("Delhi", q, [CONTEXT]).score
    long = ground("The Oberoi family is part of a hotel company with a head office in Delhi.", q,
                  [CONTEXT]).score  # fmt: skip
    assert short == long == 1.0


def test_an_answer_without_words_has_no_grounding_score() -> None:
    assert ground(" ... ", "q?", [CONTEXT]).score is None
    assert content_tokens("[1] [2]") == []
