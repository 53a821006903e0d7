"""What this CPU's vLLM build can run, which decides the embedded model's default precision.

vLLM's CPU wheel ships two kernel libraries: an AVX-512 one (with the WNA16 int4 kernel and
fast VNNI/AMX int8) and an AVX2 one (no WNA16; int8 through a oneDNN path that measured 2.7x
slower than bf16 here). See bench/results/model.json.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache
def cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def has_avx512() -> bool:
    return "avx512f" in cpu_flags()


def best_precision() -> str:
    """The measured choice for this CPU (README, "Choosing the precision")."""
    return "int4" if has_avx512() else "bf16"
