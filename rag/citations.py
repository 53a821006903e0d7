"""Which sources an answer cites, read from its ``[n]`` markers.

Small models cite sloppily (``[1, 2]``, ``[Source 2]``, ``(1)``), so the parser accepts those
forms but only numbers that name a source actually shown to the model.
"""

from __future__ import annotations

import re

_BRACKETED = re.compile(r"\[(?:sources?\s*)?([\d,\s]+)\]", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")


def cited_indices(answer: str, n_sources: int) -> list[int]:
    """1-based source numbers cited in ``answer``, in order of first mention, deduplicated."""
    seen: list[int] = []
    for group in _BRACKETED.finditer(answer):
        for num in _NUMBER.findall(group.group(1)):
            i = int(num)
            if 1 <= i <= n_sources and i not in seen:
                seen.append(i)
    return seen
