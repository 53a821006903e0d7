"""What this CPU's vLLM build can run.

vLLM's CPU wheel ships two kernel libraries: an AVX-512 one, with the WNA16 kernel that int4
(W4A16) weights need, and an AVX2 one without it. Asking an AVX2 machine to serve int4 would
fail deep inside vLLM's warm-up; we check first and say what to do instead.
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
