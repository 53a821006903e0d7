"""The README's configuration table and the docs' measurement tables are generated
(`make docs`); these tests fail when one was edited by hand or its source changed since."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import docs_tables, table_format
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


def test_every_setting_says_what_it_is_for() -> None:
    """The README's configuration table reads each meaning from the setting's own Field."""
    undescribed = [n for n, f in Settings.model_fields.items() if not f.description]
    assert not undescribed


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
    assert table_format.num(value, places) == shown
