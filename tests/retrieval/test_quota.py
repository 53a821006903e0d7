"""Quotas count what the index will hold after an upload replaces its documents."""

from __future__ import annotations

import pytest

from rag.core.errors import QuotaExceeded
from retrieval.quota import Quota, check
from retrieval.types import Chunk


def _chunks(doc: str, n: int, text: str = "x" * 10) -> list[Chunk]:
    return [Chunk(f"{doc}#{i}", doc, "T", text) for i in range(n)]


CURRENT = _chunks("a", 2) + _chunks("b", 2)  # 2 documents, 4 chunks, 44 bytes


@pytest.mark.parametrize(
    ("quota", "new", "over"),
    [
        pytest.param(Quota(2, 100, 10_000), _chunks("c", 1), "3 documents", id="documents"),
        pytest.param(Quota(10, 5, 10_000), _chunks("c", 2), "6 chunks", id="chunks"),
        pytest.param(Quota(10, 100, 60), _chunks("c", 2), "66 bytes", id="bytes"),
        pytest.param(Quota(10, 100, 60), _chunks("c", 1, "é" * 10), "65 bytes", id="utf8-bytes"),
    ],
)
def test_an_upload_over_a_quota_is_refused(quota: Quota, new: list[Chunk], over: str) -> None:
    with pytest.raises(QuotaExceeded, match=over):
        check(quota, CURRENT, new)


def test_replacing_a_document_counts_only_its_new_chunks() -> None:
    check(Quota(2, 4, 44), CURRENT, _chunks("a", 2))  # same size: fits exactly
    with pytest.raises(QuotaExceeded, match="5 chunks"):
        check(Quota(2, 4, 10_000), CURRENT, _chunks("a", 3))
