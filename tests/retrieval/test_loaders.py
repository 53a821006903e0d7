from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.core.errors import EmptyDocument, InvalidRequest
from retrieval.loaders import Limits, iter_files, load_bytes, load_file
from tests.pdf_maker import make_flate_bomb, make_pdf


def test_markdown_title_comes_from_its_heading(tmp_path: Path) -> None:
    f = tmp_path / "travel.md"
    f.write_text("# Travel Policy\n\nTrains are booked second class.\n")
    [doc] = load_file(f, root=tmp_path)
    assert (doc.doc_id, doc.title) == ("travel.md", "Travel Policy")


def test_doc_id_is_the_path_below_the_ingested_folder(tmp_path: Path) -> None:
    (tmp_path / "hr").mkdir()
    f = tmp_path / "hr" / "leave.txt"
    f.write_text("Thirty days of leave.")
    assert load_file(f, root=tmp_path)[0].doc_id == "hr/leave.txt"


def test_html_keeps_the_text_and_drops_scripts_and_navigation() -> None:
    html = b"""<html><head><title>Expense rules</title><style>p{color:red}</style></head>
    <body><nav>Home | About</nav><h1>Expenses</h1><p>Receipts are due within
    <b>30 days</b>.</p><script>var secret = 1;</script></body></html>"""
    [doc] = load_bytes(html, "expenses.html")
    assert doc.title == "Expense rules"
    assert "Receipts are due within" in doc.text and "30 days" in doc.text
    assert "secret" not in doc.text and "color" not in doc.text and "Home" not in doc.text


def test_pdf_text_and_page_offsets() -> None:
    pdf = make_pdf(["Travel is booked by the office.", "Hotels cost at most 120 euros."])
    [doc] = load_bytes(pdf, "travel-policy.pdf")
    assert "booked by the office" in doc.text and "120 euros" in doc.text
    assert len(doc.page_starts) == 2
    assert doc.page_at(doc.text.index("Hotels")) == 2
    assert doc.page_at(0) == 1


def test_jsonl_bulk_accepts_beir_lines_and_names_a_bad_line() -> None:
    lines = [
        {"_id": "d1", "title": "One", "text": "First."},
        {"id": "d2", "text": "Second.", "source": "wiki"},
    ]
    docs = load_bytes("\n".join(json.dumps(x) for x in lines).encode(), "bulk.jsonl")
    assert [(d.doc_id, d.title, d.source) for d in docs] == [
        ("d1", "One", "bulk.jsonl"),
        ("d2", "", "wiki"),
    ]
    with pytest.raises(InvalidRequest, match=r"bulk.jsonl:2"):
        load_bytes(b'{"_id": "a", "text": "x"}\n{oops\n', "bulk.jsonl")


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        pytest.param("image.png", b"\x89PNG\r\n", InvalidRequest, id="unsupported-suffix"),
        pytest.param("blob.txt", b"abc\x00\x01\x02", InvalidRequest, id="binary-content"),
        pytest.param("empty.md", b"  \n", EmptyDocument, id="empty-file"),
        pytest.param("broken.pdf", b"%PDF-1.4 garbage", InvalidRequest, id="broken-pdf"),
        pytest.param(
            "blank.html",
            b"<html><script>x()</script></html>",
            EmptyDocument,
            id="html-without-text",
        ),  # fmt: skip
    ],
)
def test_bad_files_are_refused_with_a_reason(
    tmp_path: Path, name: str, content: bytes, error: type[Exception]
) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(error, match=name):
        load_file(f)


def test_oversized_file_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="limit"):
        load_bytes(b"x" * 2000, "big.txt", limits=Limits(max_bytes=1000))


def test_folders_yield_supported_files_only(tmp_path: Path) -> None:
    for name in ("a.md", "b.html", "c.pdf", "d.png"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in iter_files([tmp_path])] == ["a.md", "b.html", "c.pdf"]
    with pytest.raises(InvalidRequest, match="no such file"):
        list(iter_files([tmp_path / "nope"]))


BROKEN_PDFS = {
    "truncated": make_pdf(["Travel is booked by the office."])[:200],
    "garbage": b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" + b"\xff" * 64,
    "bad-xref": make_pdf(["Hotels."]).replace(b"xref", b"xref\n9 9\nzz"),
    "flate-bomb": make_flate_bomb(),
    "deep-array": b"%PDF-1.4\n1 0 obj " + b"[" * 50_000 + b"]" * 50_000 + b" endobj\ntrailer "
    b"<< /Root 1 0 R >>\n%%EOF",
}


@pytest.mark.parametrize("data", [pytest.param(v, id=k) for k, v in BROKEN_PDFS.items()])
def test_a_broken_pdf_is_an_invalid_request(data: bytes) -> None:
    with pytest.raises((InvalidRequest, EmptyDocument)):
        load_bytes(data, "broken.pdf")


def test_a_pdf_over_the_page_limit_is_refused() -> None:
    pdf = make_pdf(["one", "two", "three"])
    with pytest.raises(InvalidRequest, match="3 pages is over the 2-page limit"):
        load_bytes(pdf, "long.pdf", limits=Limits(max_pdf_pages=2))


def test_deeply_nested_jsonl_is_an_invalid_request_naming_the_line() -> None:
    data = b'{"id": "ok", "text": "fine"}\n' + b'{"id": "x", "text": ' + b"[" * 100_000 + b"\n"
    with pytest.raises(InvalidRequest, match="bulk.jsonl:2"):
        load_bytes(data, "bulk.jsonl")


def test_a_long_heading_or_html_title_is_cut_to_the_limit() -> None:
    heading = "Policy " * 1000
    limits = Limits(max_title_chars=50)
    [md] = load_bytes(f"# {heading}\n\nBody text.".encode(), "p.md", limits=limits)
    [html] = load_bytes(
        f"<title>{heading}</title><body>Body text.</body>".encode(), "p.html", limits=limits
    )
    assert len(md.title) <= 50 and len(html.title) <= 50 and md.title.endswith("…")


def test_a_long_explicit_title_source_or_id_is_refused() -> None:
    limits = Limits(max_title_chars=50, max_source_chars=50)
    cases = [
        ({"id": "a", "title": "T" * 51, "text": "x"}, "title is longer than 50"),
        ({"id": "a", "source": "s" * 51, "text": "x"}, "source is longer than 50"),
        ({"id": "a" * 513, "text": "x"}, "id is longer than 512"),
    ]
    for obj, message in cases:
        with pytest.raises(InvalidRequest, match=message):
            load_bytes(json.dumps(obj).encode(), "bulk.jsonl", limits=limits)
    with pytest.raises(InvalidRequest, match="source is longer than 50"):
        load_bytes(b"text", "n" * 60 + ".txt", limits=limits)
