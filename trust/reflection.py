"""Self-reflection: the model grades its own answer against the context, and the grade is
read as a probability — P(yes) / (P(yes) + P(no)) over the first reply token's top
logprobs — rather than parsed from text, so an unsure model gives 0.5, not a coin flip."""

from __future__ import annotations

import math
from collections.abc import Mapping

YES = frozenset({"yes", "true", "correct"})
NO = frozenset({"no", "false", "incorrect"})
TOP_LOGPROBS = 10


def p_yes(top_logprobs: Mapping[str, float]) -> float | None:
    """P(yes) among the yes/no variants ('Yes', ' yes', 'YES', ...) in the top alternatives;
    None when neither appears (the model went off script)."""
    yes = no = 0.0
    for token, lp in top_logprobs.items():
        word = token.strip().strip(".,!:").lower()
        if word in YES:
            yes += math.exp(lp)
        elif word in NO:
            no += math.exp(lp)
    if yes + no == 0.0:
        return None
    return yes / (yes + no)
