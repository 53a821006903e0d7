"""TrustScorer with a scripted LLM: which calls each preset makes, and the result's shape."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from rag.core.embedder import Embedder
from rag.llm.prompts import Source, answer_messages
from tests.trust.conftest import ScriptedLLM, completion
from trust import scorer as scorer_mod
from trust import signals as signals_mod
from trust.calibration import Calibration, LogisticModel, subset_key
from trust.confidence import context_lift
from trust.presets import PRESETS
from trust.scorer import LIFT_HEAD_CHARS, TrustScorer, lift_head

Q = "Where is the Oberoi Group's head office?"
SOURCES = [Source("Oberoi", "The Oberoi Group is a hotel company with its head office in Delhi.")]
SAMPLES = ["The head office is in Delhi [1]."] * 5
# P(correct) = sigmoid(8 * grounding - 4): 0.98 when grounded, 0.02 when not.
CAL = Calibration({"grounding": LogisticModel(("grounding",), (8.0,), -4.0)})


@pytest.fixture
def llm() -> ScriptedLLM:
    return ScriptedLLM(samples=SAMPLES)


@pytest.fixture
def scorer(llm: ScriptedLLM, embedder: Embedder) -> TrustScorer:
    return TrustScorer(llm, embedder, calibration=CAL, samples=5)


async def test_off_costs_nothing(scorer: TrustScorer, llm: ScriptedLLM) -> None:
    res = await scorer.score(Q, "Delhi", SOURCES, preset="off")
    assert res.score is None and not res.flagged and res.signals == {} and llm.calls == []


async def test_fast_uses_the_answers_own_logprobs_and_never_samples(
    scorer: TrustScorer, llm: ScriptedLLM
) -> None:
    res = await scorer.score(Q, "Delhi", SOURCES, preset="fast", answer_logprobs=[-0.1, -0.3])
    assert llm.calls == []
    assert res.signals["grounding"] == 1.0 and res.signals["confidence"] == pytest.approx(0.8187)
    assert res.signals["consistency"] is None and res.samples == 0


async def test_an_answer_from_elsewhere_gets_its_logprobs_from_one_prefill(
    scorer: TrustScorer, llm: ScriptedLLM
) -> None:
    res = await scorer.score(Q, "Delhi", SOURCES, preset="fast")
    assert [c[0] for c in llm.calls] == ["forced"]
    assert res.signals["confidence"] is not None


async def test_balanced_samples_k_in_one_request_with_the_answer_prompt(
    scorer: TrustScorer, llm: ScriptedLLM
) -> None:
    res = await scorer.score(Q, "Delhi", SOURCES, preset="balanced", cache_salt="salt-a")
    sample_calls = [c[1] for c in llm.calls if c[0] == "sample"]
    cap = sample_calls[0].pop("cap")
    assert sample_calls == [
        {"n": 5, "cache_salt": "salt-a", "messages": answer_messages(Q, SOURCES)}
    ]
    # The answer's own length, read from its forced logprobs, ends the samples (floor 8).
    assert cap.tokens == max(len(llm.forced), cap.floor)
    assert res.samples == 5 and res.signals["consistency"] is not None
    assert res.signals["context_lift"] is not None and res.signals["reflection"] is None
    assert res.usage.completion_tokens > 0


async def test_samples_drawn_beside_the_main_answer_are_not_drawn_again(
    scorer: TrustScorer, llm: ScriptedLLM
) -> None:
    drawn = [completion(s) for s in SAMPLES[:3]]
    res = await scorer.score(Q, "Delhi", SOURCES, preset="balanced", samples=drawn,
                             answer_logprobs=[-0.1])  # fmt: skip
    assert "sample" not in [c[0] for c in llm.calls] and res.samples == 3


async def test_thorough_reads_the_grade_from_top_logprobs(
    scorer: TrustScorer, llm: ScriptedLLM
) -> None:
    res = await scorer.score(Q, "Delhi", SOURCES, preset="thorough")
    assert [c[1]["top_logprobs"] for c in llm.calls if c[0] == "chat"] == [10]
    assert res.signals["reflection"] == pytest.approx(1 / (1 + math.exp(-1.6)), abs=1e-3)


async def test_flagged_below_threshold_with_unsupported_sentences_named(
    scorer: TrustScorer,
) -> None:
    answer = "The Oberoi Group is a hotel company. Its head office is in Mumbai."
    res = await scorer.score(Q, answer, SOURCES, preset="fast", threshold=0.6,
                             answer_logprobs=[-0.1])  # fmt: skip
    assert res.score is not None and res.score < 0.6 and res.flagged
    assert [(u.text, answer[u.start : u.end]) for u in res.unsupported] == [
        ("Its head office is in Mumbai.", "Its head office is in Mumbai.")
    ]
    body = res.model_dump()
    assert set(body) == {"score", "flagged", "threshold", "preset", "signals", "unsupported",
                         "samples"}  # fmt: skip


async def test_a_failing_llm_leaves_its_signals_out_but_still_scores(
    embedder: Embedder,
) -> None:
    scorer = TrustScorer(ScriptedLLM(fail=True), embedder, calibration=CAL)
    res = await scorer.score(Q, "Delhi", SOURCES, preset="thorough")
    assert res.signals["grounding"] == 1.0 and res.score is not None
    assert all(res.signals[s] is None for s in ("consistency", "confidence", "reflection"))


async def test_signals_the_calibration_dropped_cost_no_llm_call(
    llm: ScriptedLLM, embedder: Embedder
) -> None:
    """The fit gave reflection no weight in the thorough model: it is not asked for."""
    thorough = subset_key(PRESETS["thorough"].signals)
    cal = Calibration({thorough: LogisticModel(("grounding", "context_lift"), (3.0, 2.0), -3.0)})
    res = await TrustScorer(llm, embedder, calibration=cal).score(Q, "Delhi", SOURCES,
                                                                 preset="thorough")  # fmt: skip
    assert sorted(c[0] for c in llm.calls) == ["forced", "forced"]
    assert res.signals["reflection"] is None and res.signals["consistency"] is None
    assert res.signals["context_lift"] is not None and res.samples == 0


async def test_the_lift_reads_a_long_answers_head_only(
    scorer: TrustScorer, llm: ScriptedLLM
) -> None:
    long = "The head office is in Delhi, India. " * 20
    head, cut = lift_head(long)
    assert cut and long.startswith(head) and len(head) <= LIFT_HEAD_CHARS
    assert lift_head("Delhi.") == ("Delhi.", False)
    # The context backs the answer's opening tokens and not its last ones.
    answer_lps = [-0.1] * 10 + [-5.0] * 190
    res = await scorer.score(Q, long, SOURCES, preset="balanced", samples=[],
                             answer_logprobs=answer_lps)  # fmt: skip
    # One prefill, without the sources, of the head alone (the answer's logprobs were given).
    assert [c[1] for c in llm.calls if c[0] == "forced"] == [
        {"with_sources": False, "continuation": head}
    ]
    # Its two bare logprobs are read against the answer's first two, not its last two.
    expected = context_lift(answer_lps, llm.bare, head=True)
    assert expected is not None and expected > 0.85
    assert res.signals["context_lift"] == pytest.approx(expected, abs=1e-4)  # rounded to 4


async def test_the_signals_computed_on_threads_hold_the_callers_cpu_turn(
    scorer: TrustScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grounding reads every context token and consistency embeds the samples: both take the
    tenant's turn (rag.fair_share), or a tenant scoring long contexts would take every core."""
    held: list[str] = []
    seen: dict[str, list[str]] = {}

    @asynccontextmanager
    async def turn() -> AsyncIterator[None]:
        held.append("turn")
        try:
            yield
        finally:
            held.remove("turn")

    def watched(module: Any, name: str) -> None:
        real = getattr(module, name)

        def call(*args: Any) -> Any:
            seen[name] = list(held)
            return real(*args)

        monkeypatch.setattr(module, name, call)

    watched(scorer_mod, "ground")
    watched(signals_mod, "consistency")
    res = await scorer.score(Q, "Delhi", SOURCES, preset="balanced", turn=turn)
    assert seen == {"ground": ["turn"], "consistency": ["turn"]}
    assert held == [] and res.signals["grounding"] == 1.0
