"""Metric arithmetic on hand-checked examples."""

from __future__ import annotations

import pytest

from trust.evaluate import auroc, balanced_accuracy, ece, f1_flagged, reliability


def test_ece_of_perfectly_calibrated_bins_is_zero() -> None:
    labels = [1, 0, 1, 0] + [1] * 9 + [0]
    probs = [0.5] * 4 + [0.9] * 10
    assert ece(labels, probs) == pytest.approx(0.0)


def test_ece_weights_each_bins_gap_by_its_size() -> None:
    # bin 0.9: 2 items, 50% correct -> gap 0.4; bin 0.1: 2 items, 0% correct -> gap 0.1
    assert ece([1, 0, 0, 0], [0.9, 0.9, 0.1, 0.1]) == pytest.approx((2 * 0.4 + 2 * 0.1) / 4)


def test_auroc_counts_correctly_ordered_pairs() -> None:
    assert auroc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1]) == pytest.approx(0.75)
    assert auroc([1, 1], [0.2, 0.3]) is None


def test_f1_treats_incorrect_answers_as_the_positive_class() -> None:
    labels = [1, 1, 0, 0]
    assert f1_flagged(labels, [True] * 4) == pytest.approx(2 / 3)
    assert f1_flagged(labels, [False, False, True, True]) == pytest.approx(1.0)


def test_balanced_accuracy_of_flagging() -> None:
    # consistent items: 1 of 2 unflagged (0.5); inconsistent: 2 of 2 flagged (1.0)
    assert balanced_accuracy([1, 1, 0, 0], [False, True, True, True]) == pytest.approx(0.75)


def test_reliability_reports_non_empty_bins_only() -> None:
    got = reliability([1, 0, 1], [0.95, 0.05, 0.91])
    assert [(n, acc) for _, acc, n in got] == [(1, 0.0), (2, 1.0)]
    assert [p for p, _, _ in got] == pytest.approx([0.05, 0.93])
