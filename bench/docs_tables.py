"""The tables of README.md and docs/*.md, rebuilt from where their numbers live.

A number typed by hand into a doc goes stale the day its benchmark is rerun; a default typed
into the README goes stale the day `Settings` changes. So each such table sits between
``<!-- table: NAME -->`` and ``<!-- /table -->`` and is regenerated from
``bench/results/*.json`` or from ``rag.core.settings.Settings``; the prose around it stays
hand-written. ``tests/test_docs.py`` fails when a generated table is out of date.

Run: .venv/bin/python -m bench.docs_tables [--check]   (or `make docs`)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import quality_tables as quality
from bench import service_tables as service
from bench.table_format import ROOT

BLOCK = re.compile(r"(<!-- table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


TABLES: dict[str, Callable[[], str]] = {
    "answer-speed": service.answer_speed,
    "answer-speed-modes": service.answer_speed_modes,
    "model-precision": quality.model_precision,
    "retrieval-quality": quality.retrieval_quality,
    "index-backends": quality.index_backends,
    "halueval": quality.halueval,
    "summedits": quality.summedits,
    "qa-extractive": quality.qa_extractive,
    "selector-ablation": quality.selector_ablation,
    "pii": quality.pii,
    "pii-per-type": quality.pii_per_type,
    "audit": service.audit,
    "abuse": service.abuse,
    "fair-share": service.fair_share,
    "configuration": service.configuration,
}


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def render(text: str) -> str:
    """The text with every marked table rebuilt; an unknown name is an error, not a skip."""

    def rebuilt(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; bench/docs_tables.py knows {sorted(TABLES)}")
        return match.group(1) + TABLES[name]() + match.group(4)

    return BLOCK.sub(rebuilt, text)


def stale() -> list[Path]:
    return [path for path in documents() if render(path.read_text()) != path.read_text()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a doc is out of date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for path in out_of_date:
            print(f"{path.relative_to(ROOT)}: tables out of date; run `make docs`")
        return 1 if out_of_date else 0
    for path in documents():
        text = path.read_text()
        if (new := render(text)) != text:
            path.write_text(new)
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
