from __future__ import annotations

import numpy as np

from retrieval.fusion import convex, rrf


def ranked(ids: list[int], scores: list[float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(ids, np.int64), np.array(scores, np.float32)


def test_convex_rewards_agreement_between_the_lists() -> None:
    lexical = ranked([1, 2, 3], [9.0, 5.0, 1.0])
    dense = ranked([2, 1, 4], [0.8, 0.7, 0.2])
    ids, scores = convex([lexical, dense], [0.5, 0.5])
    assert ids.tolist()[:2] == [1, 2]  # both lists rank them high
    assert scores[0] > scores[1] > scores[2]
    assert set(ids.tolist()) == {1, 2, 3, 4}


def test_convex_is_scale_free() -> None:
    a = ranked([1, 2, 3], [3.0, 2.0, 1.0])
    b = ranked([3, 2, 1], [0.9, 0.5, 0.1])
    scaled = ranked([1, 2, 3], [300.0, 200.0, 100.0])
    assert convex([a, b], [0.6, 0.4])[0].tolist() == convex([scaled, b], [0.6, 0.4])[0].tolist()


def test_weights_pick_a_side() -> None:
    a = ranked([1, 2], [2.0, 1.0])
    b = ranked([2, 1], [2.0, 1.0])
    assert convex([a, b], [0.9, 0.1])[0][0] == 1
    assert convex([a, b], [0.1, 0.9])[0][0] == 2


def test_rrf_uses_ranks_only() -> None:
    a = ranked([1, 2, 3, 4], [100.0, 99.0, 2.0, 1.0])
    b = ranked([4, 2, 3, 1], [0.4, 0.3, 0.2, 0.1])
    ids, scores = rrf([a, b], [1.0, 1.0], k=60)
    assert ids[0] == 2  # second in both beats first-and-last
    assert np.isclose(scores[0], 2 / 62)


def test_empty_lists_fuse_to_nothing_or_to_the_other_list() -> None:
    empty = ranked([], [])
    assert len(convex([empty, empty], [0.5, 0.5])[0]) == 0
    assert convex([empty, ranked([7, 8], [0.9, 0.1])], [0.5, 0.5])[0].tolist() == [7, 8]
