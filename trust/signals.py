"""The signals trust fuses: each in [0, 1] (higher = more likely correct), or None when the
preset did not ask for it or the backend cannot provide it. None is a normal state, never an
error: calibration picks the model fitted on exactly the signals that are present."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SIGNAL_NAMES: tuple[str, ...] = (
    "consistency",
    "grounding",
    "confidence",
    "context_lift",
    "reflection",
    # extractive answers' own (trust/quotes.py); consistency above is shared by both modes
    "coverage",
    "similarity",
    "margin",
    "choice",
    "agreement",
    "answer_type",
    "vote",
)


@dataclass(frozen=True)
class Signals:
    consistency: float | None = None
    """Semantic agreement of the answer with k stochastic samples of it."""
    grounding: float | None = None
    """Support of the answer's weakest sentence by the context (lexical, not length)."""
    confidence: float | None = None
    """Geometric-mean token probability of the answer."""
    context_lift: float | None = None
    """How much more likely the context makes the answer's weakest tokens than the question
    alone does."""
    reflection: float | None = None
    """The model's own P(yes) that the answer is correct given the context."""

    def available(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def as_dict(self) -> dict[str, float | None]:
        return {k: (None if v is None else round(v, 4)) for k, v in asdict(self).items()}
