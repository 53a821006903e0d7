"""What a request's texts may hold, checked before any work is done for it.

PII detection is linear in the text, but at ~20 ms per 1,000 characters of dense PII a
megabyte would hold a worker thread for seconds: every text is bounded first, with an error
that names the setting.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.core.errors import InvalidRequest
from rag.core.settings import Settings


def checked_question(text: str, settings: Settings) -> str:
    """The question, stripped; empty or too long is a 400."""
    question = text.strip()
    if not question:
        raise InvalidRequest("the question is empty")
    if len(question) > settings.max_question_chars:
        raise InvalidRequest(
            f"the question is longer than {settings.max_question_chars} characters"
        )
    return question


def checked_scored_texts(answer: str, context: Sequence[str], settings: Settings) -> str:
    """The answer ``/v1/score`` is asked to score, stripped, once it and its context items
    are within their limits."""
    s = settings
    answer = answer.strip()
    if not answer:
        raise InvalidRequest("the answer must not be blank")
    if len(answer) > s.max_scored_answer_chars:
        raise InvalidRequest(
            f"the answer is longer than {s.max_scored_answer_chars} characters "
            "(RAGTRUST_MAX_SCORED_ANSWER_CHARS); score a shorter answer"
        )
    longest = max((len(c) for c in context), default=0)
    if longest > s.max_context_item_chars:
        raise InvalidRequest(
            f"a context item is longer than {s.max_context_item_chars} characters "
            "(RAGTRUST_MAX_CONTEXT_ITEM_CHARS); split or shorten it"
        )
    if sum(len(c) for c in context) > s.max_context_chars:
        raise InvalidRequest(
            f"the context items together are longer than {s.max_context_chars} characters "
            "(RAGTRUST_MAX_CONTEXT_CHARS); send only the passages the answer rests on"
        )
    return answer
