"""Answer units: sentences, list items and table rows, with offsets into the chunk."""

from __future__ import annotations

import pytest

from rag.units import MAX_UNIT_WORDS, units

TABLE = """## Hotel caps per city

| City | Maximum rate per night |
|---|---|
| London | EUR 220 |
| New York | EUR 280 |
"""


def test_a_table_row_is_shown_with_its_heading_and_column_names() -> None:
    rows = [u for u in units(TABLE) if u.kind == "row"]
    assert [r.text for r in rows] == [
        "Hotel caps per city - City: London; Maximum rate per night: EUR 220",
        "Hotel caps per city - City: New York; Maximum rate per night: EUR 280",
    ]
    assert TABLE[rows[0].start : rows[0].end] == "| London | EUR 220 |"


def test_headings_and_table_rules_are_not_units() -> None:
    texts = [u.text for u in units(TABLE)]
    assert not any(t.startswith(("#", "|", "Hotel caps per city\n")) for t in texts)
    assert len(texts) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Dr. Smith went to the U.S. Army base. He stayed there for 3 years.",
            ["Dr. Smith went to the U.S. Army base.", "He stayed there for 3 years."],
            id="abbreviations-do-not-end-a-sentence",
        ),
        pytest.param(
            "- Up to EUR 1,500: approval by the line manager.\n- Above EUR 5,000: the CFO.\n",
            ["Up to EUR 1,500: approval by the line manager.", "Above EUR 5,000: the CFO."],
            id="list-items",
        ),
        pytest.param(
            "- Rail up to 4 hours is second class. Longer trips may be first class.\n",
            ["Rail up to 4 hours is second class.", "Longer trips may be first class."],
            id="a-list-item-of-two-sentences",
        ),
    ],
)
def test_units_of_prose_and_lists(text: str, expected: list[str]) -> None:
    found = units(text)
    assert [u.text for u in found] == expected
    for u in found:
        assert text[u.start : u.end] == u.text


def test_a_very_long_sentence_is_quoted_by_its_clauses() -> None:
    long = (
        "The Normans were the people who in the 10th and 11th centuries gave their name to "
        "Normandy, a region in France that lies on the coast of the English Channel, and they "
        "were descended from Norse raiders and pirates from Denmark, Iceland and Norway who, "
        "under their leader Rollo, agreed to swear fealty to King Charles III of West Francia."
    )
    found = units(long)
    assert len(found) >= 2
    assert all(len(u.text.split()) <= MAX_UNIT_WORDS for u in found)
    assert " ".join(u.text for u in found) == long


def test_fragments_shorter_than_an_answer_are_dropped() -> None:
    assert units("Scope\n\n1.\n\nOk.") == []
