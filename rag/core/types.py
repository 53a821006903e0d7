"""The vocabularies the settings, the API models and the packages share, defined once."""

from __future__ import annotations

from typing import Literal, get_args

RetrievalMode = Literal["hybrid", "dense", "bm25"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)

PresetName = Literal["off", "fast", "balanced", "thorough"]
"""Trust presets (trust/presets.py says what each computes)."""
