"""The vocabularies the settings, the API models and the packages share, defined once."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Literal, get_args

RetrievalMode = Literal["hybrid", "dense", "bm25"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)

PresetName = Literal["off", "fast", "balanced", "thorough"]
"""Trust presets (trust/presets.py says what each computes)."""

CpuTurn = Callable[[], AbstractAsyncContextManager[None]]
"""A request's turn at the CPU (rag.fair_share): CPU-bound work a request runs on a thread
holds one, so that a tenant with many requests in flight cannot take every core."""
