"""Choosing the units that answer, with the real embedding model (it loads in a second)."""

from __future__ import annotations

import pytest

from rag.core.embedder import Embedder
from rag.core.settings import Settings
from rag.extractive import MAX_ANSWER_WORDS, expected_type, select
from retrieval.build import build_embedder

LEAVE = (
    "## Vacation days\n\n"
    "- Full-time employees working 5 days per week receive 30 vacation days per calendar "
    "year.\n"
    "- Part-time employees receive vacation days in proportion to their working days.\n"
    "- After 5 years of service, employees receive 2 additional vacation days per year.\n"
)
TRAVEL = "Business class requires prior written approval by the CFO. Rail is preferred."


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return build_embedder(Settings())


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        pytest.param("How many vacation days do employees get?", "number", id="how-many"),
        pytest.param("What is the deadline for claims?", "number", id="deadline"),
        pytest.param("In what year did the war end?", "date", id="what-year"),
        pytest.param("When was it founded?", "date", id="when"),
        pytest.param("Who approves business class?", "name", id="who"),
        pytest.param("What is the hotel cap in London?", None, id="no-particular-kind"),
    ],
)
def test_expected_type_of_a_question(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


def test_the_unit_that_answers_is_chosen(embedder: Embedder) -> None:
    sel = select("How many vacation days do full-time employees get?",
                 [("HR", LEAVE, 0.8), ("Travel", TRAVEL, 0.3)], embedder)  # fmt: skip
    assert sel.chosen[0].source == 1
    assert "30 vacation days" in sel.chosen[0].unit.text
    assert sel.chosen[0].score == max(c.score for c in sel.ranked)


def test_two_units_stay_within_the_word_limit(embedder: Embedder) -> None:
    sel = select("Who approves business class flights?",
                 [("Travel", TRAVEL, 0.9), ("HR", LEAVE, 0.2)], embedder)  # fmt: skip
    assert "CFO" in sel.chosen[0].unit.text
    assert sum(len(c.unit.text.split()) for c in sel.chosen) <= MAX_ANSWER_WORDS


def test_nothing_is_chosen_when_no_unit_relates_to_the_question(embedder: Embedder) -> None:
    sel = select("What is the capital of Mars?", [("Travel", TRAVEL, 0.1)], embedder)
    assert sel.chosen == ()


def test_no_chunks_no_answer(embedder: Embedder) -> None:
    assert select("How many days?", [], embedder).chosen == ()
