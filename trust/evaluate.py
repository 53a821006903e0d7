"""Metrics for trust scores against labels (1 = the answer is correct / consistent).

AUROC, F1 and balanced accuracy are scikit-learn's; ECE (expected calibration error) is the
usual equal-width-bin form, which scikit-learn lacks. A metric that the data cannot define
(one class only) is None, not a crash and not a made-up 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def auroc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """P(a correct item outscores an incorrect one)."""
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def ece(labels: Sequence[int], probs: Sequence[float], bins: int = 10) -> float | None:
    """Mean |accuracy - confidence| over equal-width probability bins, weighted by bin size."""
    if not labels:
        return None
    y = np.asarray(labels, dtype=float)
    p = np.clip(np.asarray(probs, dtype=float), 0.0, 1.0)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / len(y))


def f1_flagged(labels: Sequence[int], flagged: Sequence[bool]) -> float:
    """F1 of flagging, with the incorrect items (label 0) as the positive class."""
    from sklearn.metrics import f1_score

    truth = [int(lab == 0) for lab in labels]
    return float(f1_score(truth, [int(f) for f in flagged], zero_division=0.0))


def balanced_accuracy(labels: Sequence[int], flagged: Sequence[bool]) -> float | None:
    """Mean recall of both classes, predicting 'correct' for every unflagged item."""
    from sklearn.metrics import balanced_accuracy_score

    if len(set(labels)) < 2:
        return None
    return float(balanced_accuracy_score(labels, [int(not f) for f in flagged]))


def reliability(
    labels: Sequence[int], probs: Sequence[float], bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean predicted, observed accuracy, count) per non-empty bin, for a reliability plot."""
    y = np.asarray(labels, dtype=float)
    p = np.clip(np.asarray(probs, dtype=float), 0.0, 1.0)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [
        (float(p[idx == b].mean()), float(y[idx == b].mean()), int((idx == b).sum()))
        for b in range(bins)
        if (idx == b).any()
    ]
