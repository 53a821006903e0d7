from __future__ import annotations

import pytest

from rag.citations import cited_indices


@pytest.mark.parametrize(
    ("answer", "n", "expected"),
    [
        pytest.param("Thirty days [1].", 3, [1], id="single"),
        pytest.param("See [2] and [1], again [2].", 3, [2, 1], id="order-of-first-mention"),
        pytest.param("Both [1, 3] agree.", 3, [1, 3], id="comma-list"),
        pytest.param("As [Source 2] says.", 3, [2], id="source-word"),
        pytest.param("Out of range [7].", 3, [], id="unknown-number-ignored"),
        pytest.param("No citation at all.", 3, [], id="none"),
        pytest.param("Year [2024] is not a source.", 3, [], id="large-number"),
    ],
)
def test_cited_indices(answer: str, n: int, expected: list[int]) -> None:
    assert cited_indices(answer, n) == expected
