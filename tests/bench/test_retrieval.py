from __future__ import annotations

import json
from pathlib import Path

from bench.retrieval import ingest_floor
from retrieval.chunking import split
from retrieval.loaders import load_file


def test_ingest_floor_counts_overlap_and_titles_once(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    text = " ".join(f"Sentence {i} reports a measured effect of treatment {i}." for i in range(60))
    rows = [{"_id": f"d{i}", "title": f"Study {i}", "text": text} for i in range(3)]
    corpus.write_text("\n".join(json.dumps(r) for r in rows))
    docs = load_file(corpus)
    chunks = [c for d in docs for c in split(d, chunk_size=400, chunk_overlap=100)]

    out = ingest_floor(chunks, corpus, ingest_s=2.0)

    # Overlapping chunks, each with its title, embed more tokens than the corpus holds.
    assert out["tokens_embedded"] > out["corpus_tokens"] > 0
    assert out["tokens_per_s"] == round(out["tokens_embedded"] / 2.0)
    assert out["floor_s"] < 2.0
