"""Token-level signals from logprobs: how sure the model was of the answer's tokens, and how
much the context raised their probability.

``confidence`` is the geometric-mean token probability. ``context_lift`` compares the
answer's logprobs with and without the sources: a claim the context backs becomes more
likely once the model reads it, an invented one does not. Comparing the same tokens in two
conditions cancels what both share — the model's taste for phrasing, and the answer's length
and style (a bare "Delhi" is an unlikely *first token* for a chatty model either way).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

LIFT_SCALE = 1.0
"""Nats of mean per-token lift that move ``context_lift`` from 0.5 to ~0.73."""


def token_confidence(logprobs: Sequence[float]) -> float | None:
    if not logprobs:
        return None
    return math.exp(sum(logprobs) / len(logprobs))


def context_lift(
    with_context: Sequence[float], without_context: Sequence[float], *, head: bool = False
) -> float | None:
    """Sigmoid of the mean per-token logprob gain from the context, over the tokens scored in
    both conditions: aligned from the end, where the answer's tokens are, or from the start
    when ``without_context`` covers only the answer's ``head``."""
    n = min(len(with_context), len(without_context))
    if n == 0:
        return None
    ends = slice(0, n) if head else slice(-n, None)
    gain = sum(a - b for a, b in zip(with_context[ends], without_context[ends], strict=True)) / n
    return 1.0 / (1.0 + math.exp(-gain / LIFT_SCALE))
