from __future__ import annotations

import pytest

from rag.core.errors import EmptyDocument
from retrieval.chunking import split
from retrieval.types import Document


def test_empty_document_is_refused() -> None:
    with pytest.raises(EmptyDocument):
        split(Document("d", "D", "  \n "), chunk_size=200, chunk_overlap=20)


def test_chunks_respect_size_and_record_their_offsets() -> None:
    text = "\n\n".join(
        f"## Section {i}\n" + f"Sentence number {i} is here. " * 12 for i in range(8)
    )
    doc = Document("policy.md", "Policy", text, source="policy.md")
    chunks = split(doc, chunk_size=300, chunk_overlap=40)
    assert len(chunks) > 5
    assert all(len(c.text) <= 300 for c in chunks)
    assert [c.chunk_id for c in chunks[:2]] == ["policy.md#0", "policy.md#1"]
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.page is None


def test_pdf_chunks_name_their_page() -> None:
    pages = ["Alpha page text. " * 20, "Beta page text. " * 20]
    text = pages[0] + "\n\n" + pages[1]
    second = len(pages[0]) + 2
    doc = Document("p.pdf", "P", text, source="p.pdf", page_starts=(0, second))
    chunks = split(doc, chunk_size=200, chunk_overlap=0)
    assert {c.page for c in chunks} == {1, 2}
    assert all(c.page == (2 if c.start >= second else 1) for c in chunks)
