"""The service's embedder and retriever, built from settings: what the service, the CLI, the
evaluations and the LangChain adapter all use, so that each measures what the service runs."""

from __future__ import annotations

from sqlalchemy import create_engine

from rag.core.embedder import Embedder
from rag.core.settings import Settings
from retrieval.embeddings import SentenceTransformerEmbedder
from retrieval.hybrid import HybridParams
from retrieval.onnx_embedder import OnnxEmbedder, export_int8
from retrieval.pg_store import PgIndexStore
from retrieval.retriever import ChunkStore, Retriever
from retrieval.store import IndexStore


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "torch" or settings.embedding_model:
        return SentenceTransformerEmbedder(settings.embedding_model or None)
    return OnnxEmbedder(export_int8(settings.embedder_path))


def build_retriever(settings: Settings) -> Retriever:
    embedder = build_embedder(settings)
    store: ChunkStore
    if settings.index_backend == "postgres":
        engine = create_engine(settings.db_url, pool_pre_ping=True)
        store = PgIndexStore(engine, embedder.dim)
    else:
        store = IndexStore(settings.indexes_dir, embedder.dim)
    params = HybridParams(candidates=settings.retrieval_candidates)
    return Retriever(
        embedder,
        store,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        params=params,
    )
