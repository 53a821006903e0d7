"""Turning files into documents and documents into chunks.

Chunking uses LangChain's recursive splitter (Markdown-aware for ``.md``) so chunks break at
headings and paragraphs before sentences, and keeps each chunk's start offset so a citation
can point back into its document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from rag.errors import EmptyDocument, InvalidRequest
from retrieval.types import Chunk, Document

TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown"}
_HEADING = re.compile(r"^\s*#\s+(.+)$", re.MULTILINE)


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Supported files under ``paths`` (files and folders), in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in TEXT_SUFFIXES)
        elif path.exists():
            yield path
        else:
            raise InvalidRequest(f"{path}: no such file or folder")


def load_file(path: Path, *, root: Path | None = None) -> Document:
    """Read a text or Markdown file; its id is its path relative to ``root`` (or its name)."""
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise InvalidRequest(
            f"{path.name}: unsupported file type {path.suffix!r} "
            f"(supported: {', '.join(sorted(TEXT_SUFFIXES))})"
        )
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InvalidRequest(f"{path.name}: looks like a binary file, not text")
    text = raw.decode("utf-8", errors="replace")
    doc_id = str(path.relative_to(root)) if root and path.is_relative_to(root) else path.name
    heading = _HEADING.search(text)
    title = heading.group(1).strip() if heading else path.stem.replace("-", " ").title()
    return Document(doc_id=doc_id, title=title, text=text, source=str(path))


def split(doc: Document, *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    if not doc.text.strip():
        raise EmptyDocument(f"document {doc.doc_id!r} has no text")
    is_md = doc.source.lower().endswith((".md", ".markdown"))
    splitter = RecursiveCharacterTextSplitter(
        separators=RecursiveCharacterTextSplitter.get_separators_for_language(Language.MARKDOWN)
        if is_md
        else None,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        add_start_index=True,
    )
    pieces = splitter.create_documents([doc.text])
    return [
        Chunk(
            chunk_id=f"{doc.doc_id}#{i}",
            doc_id=doc.doc_id,
            title=doc.title,
            text=piece.page_content,
            source=doc.source,
            start=int(piece.metadata.get("start_index", 0)),
        )
        for i, piece in enumerate(pieces)
    ]
