"""Token confidence, context lift, reflection's P(yes), semantic consistency."""

from __future__ import annotations

import math

import pytest

from rag.core.embedder import Embedder
from trust.confidence import context_lift, token_confidence
from trust.consistency import consistency
from trust.reflection import p_yes
from trust.signals import SIGNALS, Evidence, compute, needs

Q = "The Oberoi family is part of a hotel company that has a head office in what city?"


def test_token_confidence_is_the_geometric_mean_probability() -> None:
    assert token_confidence([math.log(0.5), math.log(0.125)]) == pytest.approx(0.25)
    assert token_confidence([]) is None


def test_context_lift_rises_when_the_context_makes_the_answer_likelier() -> None:
    assert context_lift([-0.1, -0.1], [-3.0, -3.0]) > 0.9
    assert context_lift([-2.0], [-2.0]) == pytest.approx(0.5)
    assert context_lift([-4.0, -4.0], [-1.0, -1.0]) < 0.1
    assert context_lift([], [-1.0]) is None


def test_context_lift_reads_the_tokens_the_context_made_least_likely() -> None:
    # Nine tokens the sources back and one they contradict (a swapped name): a mean over all
    # ten would still say "backed" (+1.2 nats); the weakest three say otherwise.
    bare = [-3.0] * 10
    faithful = [-1.0] * 10
    swapped = [-1.0] * 9 + [-9.0]
    assert context_lift(faithful, bare) > 0.85
    assert context_lift(swapped, bare) < 0.5
    # Fewer tokens than the three read: all of them.
    assert context_lift([-1.0, -2.0], [-2.0, -2.0]) == pytest.approx(1 / (1 + math.exp(-0.5)))


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        pytest.param({"Yes": math.log(0.6), " no": math.log(0.2), "The": -1.0}, 0.75,
                     id="variants"),
        pytest.param({"YES.": 0.0}, 1.0, id="punctuation"),
        pytest.param({"The": -0.1}, None, id="off-script"),
    ],
)  # fmt: skip
def test_p_yes_reads_the_grade_tokens(top: dict[str, float], expected: float | None) -> None:
    got = p_yes(top)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_samples_that_say_the_same_thing_in_other_words_agree(
    embedder: Embedder,
) -> None:
    same = consistency("Delhi", ["The head office is in Delhi [1].", "It is in New Delhi."], Q,
                       embedder)  # fmt: skip
    other = consistency("Delhi", ["The head office is in Mumbai [1].", "It is in Chennai."], Q,
                        embedder)  # fmt: skip
    assert same.score is not None and other.score is not None
    assert same.score > other.score + 0.2
    assert same.equivalent == 2 and other.equivalent == 0


def test_restating_the_question_does_not_make_a_wrong_answer_agree(
    embedder: Embedder,
) -> None:
    """A long hallucinated answer shares the question's words with every sample; only what it
    adds is compared, so it agrees less than the bare right answer."""
    samples = ["The Oberoi family is part of a hotel company with a head office in Delhi."] * 3
    right = consistency("Delhi", samples, Q, embedder).score
    wrong = consistency("The Oberoi family is part of a hotel company based in Mumbai.", samples,
                        Q, embedder).score  # fmt: skip
    assert right is not None and wrong is not None and right > wrong


def test_no_samples_no_consistency(embedder: Embedder) -> None:
    assert consistency("Delhi", ["", " "], Q, embedder).score is None


def test_context_lift_of_an_answers_head_aligns_from_the_start() -> None:
    # Bare logprobs for the answer's first two tokens only: compared with its first two.
    assert context_lift([-0.1, -0.1, -5.0, -5.0], [-3.0, -3.0], head=True) > 0.9
    assert context_lift([-0.1, -0.1, -5.0, -5.0], [-3.0, -3.0]) < 0.2


def test_each_llm_result_is_read_by_the_signals_that_declare_it() -> None:
    assert needs({"grounding"}) == set()
    assert needs({"confidence", "context_lift"}) == {"answer_logprobs", "bare_logprobs"}
    assert needs(set(SIGNALS)) == {"samples", "answer_logprobs", "bare_logprobs", "grade"}


async def test_the_registry_computes_what_was_asked_and_names_every_signal(
    embedder: Embedder,
) -> None:
    ev = Evidence(question=Q, answer="Delhi.", answer_logprobs=[math.log(0.5)], grade=0.9)
    values = await compute(("confidence", "reflection", "context_lift"), ev, embedder)
    assert list(values) == list(SIGNALS)
    assert values["confidence"] == pytest.approx(0.5)
    assert values["reflection"] == 0.9
    # Asked but not gathered (no bare logprobs), and not asked: both absent, not errors.
    assert values["context_lift"] is None and values["consistency"] is None
