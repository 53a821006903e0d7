from __future__ import annotations

import numpy as np

from retrieval.fusion import convex, minmax, rrf, top


def arr(*values: float) -> np.ndarray:
    return np.array(values, np.float32)


def test_convex_rewards_agreement_between_the_retrievers() -> None:
    lexical = arr(9.0, 5.0, 1.0, 0.0)
    dense = arr(0.7, 0.8, 0.1, 0.2)
    fused = convex([lexical, dense], [0.5, 0.5])
    assert np.argsort(-fused).tolist()[:2] == [0, 1]  # both rank them high


def test_convex_is_scale_free() -> None:
    b = arr(0.1, 0.5, 0.9)
    small = convex([arr(3.0, 2.0, 1.0), b], [0.6, 0.4])
    large = convex([arr(300.0, 200.0, 100.0), b], [0.6, 0.4])
    assert np.allclose(small, large)


def test_weights_pick_a_side() -> None:
    a, b = arr(2.0, 1.0), arr(1.0, 2.0)
    assert np.argmax(convex([a, b], [0.9, 0.1])) == 0
    assert np.argmax(convex([a, b], [0.1, 0.9])) == 1


def test_a_constant_or_empty_list_contributes_nothing() -> None:
    assert minmax(arr(3.0, 3.0)).tolist() == [0.0, 0.0]
    assert len(minmax(arr())) == 0
    assert np.argmax(convex([arr(0.0, 0.0, 0.0), arr(0.1, 0.9, 0.3)], [0.5, 0.5])) == 1


def test_rrf_uses_ranks_only() -> None:
    a = arr(100.0, 99.0, 2.0, 1.0)
    b = arr(0.1, 0.3, 0.2, 0.4)
    fused = rrf([a, b], [1.0, 1.0], k=60)
    assert np.argmax(fused) == 1  # second in both beats first-and-last
    assert np.isclose(fused[1], 2 / 62)


def test_top_returns_the_best_in_order() -> None:
    ids, scores = top(np.array([10, 11, 12, 13]), arr(0.2, 0.9, 0.5, 0.1), 2)
    assert ids.tolist() == [11, 12] and scores.tolist() == [np.float32(0.9), np.float32(0.5)]
    assert top(np.array([1]), arr(0.3), 5)[0].tolist() == [1]
