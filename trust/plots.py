"""PNG plots of an evaluation: ROC curve, reliability diagram, score histograms by label, and
accuracy against coverage (answering only the most trusted share)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trust.evaluate import reliability


def write_plots(
    out_dir: Path, labels: Sequence[int], scores: Sequence[float], *, title: str
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    if len(set(labels)) == 2:
        fpr, tpr, _ = roc_curve(labels, scores)
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot(fpr, tpr, label="trust score")
        ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{title}: ROC")
        ax.legend(loc="lower right")
        written.append(_save(fig, out_dir / "roc.png"))

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    bins = reliability(labels, scores)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot([b[0] for b in bins], [b[1] for b in bins], "o-", label="observed")
    ax.set(xlabel="predicted P(correct)", ylabel="fraction correct", xlim=(0, 1), ylim=(0, 1),
           title=f"{title}: reliability")  # fmt: skip
    ax.legend(loc="upper left")
    written.append(_save(fig, out_dir / "reliability.png"))

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for lab, name in ((1, "correct"), (0, "incorrect")):
        ax.hist([s for s, y in zip(scores, labels, strict=True) if y == lab], bins=20,
                range=(0, 1), alpha=0.6, label=name)  # fmt: skip
    ax.set(xlabel="trust score", ylabel="answers", title=f"{title}: scores")
    ax.legend()
    written.append(_save(fig, out_dir / "scores.png"))

    # What a threshold buys: answering only the most trusted share, how many are right.
    order = sorted(range(len(labels)), key=lambda i: -scores[i])
    right = [labels[i] for i in order]
    shares = [(k + 1) / len(right) for k in range(len(right))]
    accuracy = [sum(right[: k + 1]) / (k + 1) for k in range(len(right))]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(shares, accuracy, label="most trusted first")
    if right:
        ax.axhline(sum(right) / len(right), ls="--", color="grey", label="answer everything")
    ax.set(xlabel="coverage (share of questions answered)", ylabel="accuracy", xlim=(0, 1),
           ylim=(0, 1.02), title=f"{title}: coverage-accuracy")  # fmt: skip
    ax.legend(loc="lower left")
    written.append(_save(fig, out_dir / "coverage.png"))
    return written


def _save(fig: object, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return path
