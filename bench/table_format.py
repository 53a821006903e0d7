"""How the generated doc tables write a number: the one place that decides rounding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DASH = "—"


def num(value: float | None, places: int = 3) -> str:
    """Half-up rounding, as a reader rounds (Python's round(524.5) is 524)."""
    if value is None:
        return DASH
    step = Decimal(1).scaleb(-places)
    return str(Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP))


def per_s(value: float) -> str:
    """Throughputs to the hundred: their run-to-run spread is wider than that."""
    return f"{int(Decimal(value).scaleb(-2).quantize(Decimal(1), ROUND_HALF_UP)) * 100:,}"


def p50_p95(timing: dict[str, Any], unit: str = "s", places: int = 2) -> str:
    return f"{num(timing[f'p50_{unit}'], places)} / {num(timing[f'p95_{unit}'], places)}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; a "|" inside a cell is escaped so that it cannot split the cell."""
    lines = [header, ["---"] * len(header), *rows]
    cells = (" | ".join(c.replace("|", "\\|") for c in line) for line in lines)
    return "".join(f"| {line} |\n" for line in cells)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULTS / name).read_text())
    return data
