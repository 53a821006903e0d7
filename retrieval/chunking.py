"""Documents into chunks with LangChain's recursive splitter.

Markdown breaks at headings and paragraphs before sentences; every chunk keeps its character
offsets (and page, for PDFs) so a citation can point back into its document.
"""

from __future__ import annotations

from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from rag.core.errors import EmptyDocument
from retrieval.types import Chunk, Document

_MARKDOWN = (".md", ".markdown")


def split(doc: Document, *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    if not doc.text.strip():
        raise EmptyDocument(f"document {doc.doc_id!r} has no text")
    is_md = doc.source.lower().endswith(_MARKDOWN)
    splitter = RecursiveCharacterTextSplitter(
        separators=RecursiveCharacterTextSplitter.get_separators_for_language(Language.MARKDOWN)
        if is_md
        else None,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        add_start_index=True,
    )
    chunks = []
    for i, piece in enumerate(splitter.create_documents([doc.text])):
        start = int(piece.metadata.get("start_index", 0))
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{i}",
                doc_id=doc.doc_id,
                title=doc.title,
                text=piece.page_content,
                source=doc.source,
                start=start,
                end=start + len(piece.page_content),
                page=doc.page_at(start),
            )
        )
    return chunks
