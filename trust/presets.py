"""Presets: which signals an answer pays for. Sampling costs k extra decodes in one request;
the logprob signals cost one prefill-only request each; grounding costs nothing on the LLM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from rag.core.types import PresetName

PRESET_NAMES: tuple[str, ...] = get_args(PresetName)


@dataclass(frozen=True)
class Preset:
    name: PresetName
    grounding: bool = False
    confidence: bool = False
    context_lift: bool = False
    consistency: bool = False
    reflection: bool = False

    @property
    def enabled(self) -> bool:
        return self.name != "off"

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(
            s for s in ("consistency", "grounding", "confidence", "context_lift", "reflection")
            if getattr(self, s)
        )  # fmt: skip


PRESETS: dict[str, Preset] = {
    "off": Preset("off"),
    # No extra sampling: grounding, and token confidence from the answer's own logprobs (an
    # answer written elsewhere gets them from one prefill-only request).
    "fast": Preset("fast", grounding=True, confidence=True),
    "balanced": Preset(
        "balanced", grounding=True, confidence=True, context_lift=True, consistency=True
    ),
    "thorough": Preset(
        "thorough",
        grounding=True,
        confidence=True,
        context_lift=True,
        consistency=True,
        reflection=True,
    ),  # fmt: skip
}
