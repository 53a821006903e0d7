"""The README's configuration table and the docs' measurement tables are generated
(`make docs`); these tests fail when one was edited by hand or its source changed since."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import docs_tables
from rag.core.settings import Settings

DOCUMENTS = docs_tables.documents()


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.relative_to(docs_tables.ROOT).as_posix()) for p in DOCUMENTS]
)
def test_generated_tables_are_current(path: Path) -> None:
    text = path.read_text()
    assert docs_tables.render(text) == text, f"{path.name} is out of date: run `make docs`"


def test_every_table_is_shown_somewhere() -> None:
    shown = {m["name"] for p in DOCUMENTS for m in docs_tables.BLOCK.finditer(p.read_text())}
    assert shown == set(docs_tables.TABLES)


def test_readme_lists_every_setting() -> None:
    readme = (docs_tables.ROOT / "README.md").read_text()
    assert "<!-- table: configuration -->" in readme
    missing = [n for n in Settings.model_fields if f"`RAGTRUST_{n.upper()}`" not in readme]
    assert not missing


def test_fallback_descriptions_only_cover_undescribed_settings() -> None:
    # Once rag/core/settings.py describes a field itself, its fallback here is dead text.
    fields = Settings.model_fields
    stale = [
        n for n in docs_tables.FALLBACK_DESCRIPTIONS if n not in fields or fields[n].description
    ]
    assert not stale, f"remove from FALLBACK_DESCRIPTIONS: {stale}"


def test_unknown_table_name_is_an_error() -> None:
    with pytest.raises(KeyError, match="no-such-table"):
        docs_tables.render("<!-- table: no-such-table -->\n<!-- /table -->")


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        pytest.param(524.5, 0, "525", id="half-up-not-banker"),
        pytest.param(-0.665, 2, "-0.67", id="negative-away-from-zero"),
        pytest.param(0.1, 3, "0.100", id="pads-zeros"),
        pytest.param(None, 3, "—", id="missing"),
    ],
)
def test_num_rounds_as_a_reader_does(value: float | None, places: int, shown: str) -> None:
    assert docs_tables.num(value, places) == shown
