from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import EmptyDocument, InvalidRequest
from retrieval.ingest import iter_files, load_file, split
from retrieval.types import Document


def test_markdown_title_comes_from_its_heading(tmp_path: Path) -> None:
    f = tmp_path / "travel.md"
    f.write_text("# Travel Policy\n\nTrains are booked second class.\n")
    doc = load_file(f, root=tmp_path)
    assert (doc.doc_id, doc.title) == ("travel.md", "Travel Policy")


def test_doc_id_is_the_path_below_the_ingested_folder(tmp_path: Path) -> None:
    (tmp_path / "hr").mkdir()
    f = tmp_path / "hr" / "leave.txt"
    f.write_text("Thirty days of leave.")
    assert load_file(f, root=tmp_path).doc_id == "hr/leave.txt"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("image.png", b"\x89PNG\r\n", id="unsupported-suffix"),
        pytest.param("blob.txt", b"abc\x00\x01\x02", id="binary-content"),
    ],
)
def test_unsupported_files_are_refused(tmp_path: Path, name: str, content: bytes) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(InvalidRequest):
        load_file(f)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="no such file"):
        list(iter_files([tmp_path / "nope"]))


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
        assert text[c.start : c.start + len(c.text)] == c.text
