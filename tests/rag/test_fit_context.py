"""The prompt is trimmed to the model's window before it is sent: oldest chat turns first,
then the lowest-ranked chunks, never the best chunk."""

from __future__ import annotations

from rag.exchange import fit_context
from retrieval.types import Chunk, Hit


def _hit(i: int, size: int) -> Hit:
    return Hit(Chunk(f"d#{i}", "d", "", "x" * size), score=1.0 - i / 100)


def test_everything_stays_when_it_fits() -> None:
    hits = [_hit(i, 100) for i in range(3)]
    turns = [{"role": "user", "content": "earlier"}]
    assert fit_context("q", hits, turns, 10_000) == (hits, turns)


def test_oldest_turns_go_first_then_the_lowest_ranked_chunks() -> None:
    hits = [_hit(i, 1000) for i in range(5)]
    turns = [{"role": "user", "content": "a" * 3000}, {"role": "assistant", "content": "b" * 500}]
    kept, kept_turns = fit_context("q" * 100, hits, turns, 4000)
    assert kept_turns == [] and [h.chunk.chunk_id for h in kept] == ["d#0", "d#1", "d#2"]
    kept, kept_turns = fit_context("q", hits, turns, 5600)
    assert [t["content"][0] for t in kept_turns] == ["b"] and len(kept) == 5


def test_the_best_chunk_always_stays() -> None:
    kept, _ = fit_context("q", [_hit(0, 50_000), _hit(1, 10)], [], 100)
    assert [h.chunk.chunk_id for h in kept] == ["d#0"]
