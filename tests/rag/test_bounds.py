"""Texts over their limits are refused before any work, with the setting named."""

from __future__ import annotations

import pytest

from rag.bounds import checked_question, checked_scored_texts
from rag.core.errors import InvalidRequest
from rag.core.settings import Settings

S = Settings(max_question_chars=20, max_scored_answer_chars=30, max_context_item_chars=10,
             max_context_chars=15)  # fmt: skip


def test_a_question_is_stripped_and_bounded() -> None:
    assert checked_question("  Who approves?  ", S) == "Who approves?"
    with pytest.raises(InvalidRequest, match="empty"):
        checked_question("   ", S)
    with pytest.raises(InvalidRequest, match="longer than 20"):
        checked_question("x" * 21, S)


@pytest.mark.parametrize(
    ("answer", "context", "match"),
    [
        (" ", [], "must not be blank"),
        ("a" * 31, [], "RAGTRUST_MAX_SCORED_ANSWER_CHARS"),
        ("ok", ["c" * 11], "RAGTRUST_MAX_CONTEXT_ITEM_CHARS"),
        ("ok", ["c" * 8, "c" * 8], "RAGTRUST_MAX_CONTEXT_CHARS"),
    ],
)
def test_scored_texts_over_their_limits_are_refused(
    answer: str, context: list[str], match: str
) -> None:
    with pytest.raises(InvalidRequest, match=match):
        checked_scored_texts(answer, context, S)


def test_scored_texts_within_their_limits_pass() -> None:
    assert checked_scored_texts(" EUR 220 ", ["c" * 10, "c" * 5], S) == "EUR 220"
