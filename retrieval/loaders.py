"""Turning files and uploads into documents: text, Markdown, HTML, PDF and bulk JSONL.

Everything works from bytes, so a file on disk and an upload to ``POST /v1/documents`` take
the same path and fail the same way. HTML goes through BeautifulSoup (scripts, styles and
navigation dropped); PDF through pypdf, page by page, keeping where each page starts so a
chunk can name its page. A bad file raises a ``RagtrustError`` saying why; the callers
report it and carry on with the rest of the batch.

Every chunk repeats its document's title and source, so both are bounded: a title a file
implies (a Markdown heading, an HTML ``<title>``, a PDF's name) is cut to the limit, while
a title, source or id given explicitly (JSON, a JSONL field, an upload's name) that is too
long is refused with a message naming the limit.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.core.errors import EmptyDocument, InvalidRequest
from retrieval.types import Document

MAX_ID_CHARS = 512  # as the JSON API's document id


def _shown(name: str) -> str:
    """A file name as error messages quote it: an upload's name is the caller's to choose,
    and a megabyte of it must not come back in every message."""
    return name[:200]


@dataclass(frozen=True)
class Limits:
    """What one file may hold (None: no limit); the service takes them from its settings."""

    max_bytes: int | None = None
    max_title_chars: int | None = None
    max_source_chars: int | None = None
    max_pdf_pages: int | None = None

    def check(self, doc: Document, where: str) -> Document:
        """``doc`` if its id, title and source are within the limits, else the reason."""
        if len(doc.doc_id) > MAX_ID_CHARS:
            raise InvalidRequest(
                f"{_shown(where)}: the id is longer than {MAX_ID_CHARS} characters"
            )
        for field, value, limit, setting in (
            ("title", doc.title, self.max_title_chars, "RAGTRUST_MAX_TITLE_CHARS"),
            ("source", doc.source, self.max_source_chars, "RAGTRUST_MAX_SOURCE_CHARS"),
        ):
            if limit is not None and len(value) > limit:
                raise InvalidRequest(
                    f"{_shown(where)}: the {field} is longer than {limit} characters ({setting})"
                )
        return doc

    def cut_title(self, title: str) -> str:
        limit = self.max_title_chars
        if limit is None or len(title) <= limit:
            return title
        return title[: limit - 1].rstrip() + "…"


FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".jsonl": "jsonl",
}
_HEADING = re.compile(r"^\s*#\s+(.+)$", re.MULTILINE)
_BLANKS = re.compile(r"\n{3,}")
_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "template", "svg")


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under ``paths`` (files and folders) in a stable order; folders yield supported
    files only, a file named explicitly is yielded whatever its type (and rejected later)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS
            )
        elif path.exists():
            yield path
        else:
            raise InvalidRequest(f"{path}: no such file or folder")


def format_of(name: str, content_type: str | None = None) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    by_type = {"text/plain": "text", "text/markdown": "markdown", "text/html": "html",
               "application/pdf": "pdf", "application/jsonl": "jsonl"}  # fmt: skip
    if content_type and content_type.split(";")[0].strip() in by_type:
        return by_type[content_type.split(";")[0].strip()]
    raise InvalidRequest(
        f"{name}: unsupported file type {suffix or '(none)'!r} "
        f"(supported: {', '.join(sorted(FORMATS))})"
    )


def load_bytes(
    data: bytes,
    name: str,
    *,
    doc_id: str | None = None,
    source: str | None = None,
    content_type: str | None = None,
    limits: Limits | None = None,
) -> list[Document]:
    """The documents in one file or upload (several for JSONL, one otherwise)."""
    lim = limits or Limits()
    max_bytes = lim.max_bytes
    fmt = format_of(_shown(name), content_type)
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidRequest(
            f"{_shown(name)}: {len(data)} bytes is over the {max_bytes}-byte limit"
        )
    if not data.strip():
        raise EmptyDocument(f"{_shown(name)}: the file is empty")
    source = source or name
    if fmt == "jsonl":
        return [lim.check(d, f"{_shown(name)}:{n}") for n, d in _jsonl_lines(data, name)]
    if fmt == "pdf":
        text, pages = _pdf_text(data, name, lim.max_pdf_pages)
        title = Path(name).stem.replace("-", " ").replace("_", " ")
    else:
        if b"\x00" in data[:8192]:
            raise InvalidRequest(f"{name}: looks like a binary file, not {fmt}")
        raw = data.decode("utf-8", errors="replace")
        text, title = _html_text(raw) if fmt == "html" else (raw, _md_title(raw))
        title = title or Path(name).stem.replace("-", " ").replace("_", " ").title()
        pages = ()
    if not text.strip():
        raise EmptyDocument(f"{name}: no text could be extracted")
    doc = Document(doc_id or name, lim.cut_title(title), text, source=source, page_starts=pages)
    return [lim.check(doc, name)]


def load_file(
    path: Path,
    *,
    root: Path | None = None,
    limits: Limits | None = None,
) -> list[Document]:
    """A file's documents; the id is the path relative to ``root`` (or the file name)."""
    doc_id = str(path.relative_to(root)) if root and path.is_relative_to(root) else path.name
    return load_bytes(path.read_bytes(), path.name, doc_id=doc_id, source=str(path), limits=limits)


def iter_jsonl(data: bytes, name: str) -> Iterator[Document]:
    """Bulk documents, one JSON object a line: BEIR's ``{_id, title, text}`` or ``{id, ...}``,
    with optional ``source``. A bad line is an error naming the line: a bulk load that
    silently drops documents would leave holes nobody sees."""
    return (doc for _, doc in _jsonl_lines(data, name))


def _jsonl_lines(data: bytes, name: str) -> Iterator[tuple[int, Document]]:
    for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            doc_id = str(obj.get("_id", obj.get("id", "")))
            title = str(obj.get("title") or "")
            text = str(obj.get("text") or "") or title
        except (json.JSONDecodeError, AttributeError) as exc:
            raise InvalidRequest(f"{_shown(name)}:{n}: not a JSON object ({exc})") from None
        except (RecursionError, ValueError):  # nested too deeply; an integer too long
            raise InvalidRequest(
                f"{_shown(name)}:{n}: a JSON object too deep or too large"
            ) from None
        if not doc_id:
            raise InvalidRequest(f"{_shown(name)}:{n}: a document needs an `_id` or `id`")
        yield n, Document(doc_id, title, text, source=str(obj.get("source") or name))


def _md_title(text: str) -> str:
    heading = _HEADING.search(text)
    return heading.group(1).strip() if heading else ""


def _html_text(raw: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    if not title and (h1 := soup.find("h1")):
        title = h1.get_text(" ", strip=True)
    body = soup.body or soup
    text = body.get_text("\n", strip=True)
    return _BLANKS.sub("\n\n", text), title


def _pdf_text(data: bytes, name: str, max_pages: int | None) -> tuple[str, tuple[int, ...]]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if max_pages is not None and len(reader.pages) > max_pages:
            raise InvalidRequest(
                f"{_shown(name)}: {len(reader.pages)} pages is over the {max_pages}-page limit "
                "(RAGTRUST_MAX_PDF_PAGES)"
            )
        page_texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except InvalidRequest:
        raise
    except Exception as exc:  # noqa: BLE001
        # pypdf on a malformed file raises its own errors (PdfReadError, LimitReachedError)
        # and, deeper in, whatever its parser trips over (KeyError, TypeError,
        # RecursionError...): all of them mean this file cannot be read.
        raise InvalidRequest(f"{_shown(name)}: not a readable PDF ({type(exc).__name__})") from None
    starts, text = [], ""
    for page_text in page_texts:
        starts.append(len(text))
        text += page_text + "\n\n"
    return text, tuple(starts)
