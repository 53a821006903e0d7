"""What trust and retrieval need of a sentence embedder: normalized vectors of a fixed size.

The Protocol lives in the base so that trust can take the service's embedder without
depending on retrieval, which builds it (``retrieval.build.build_embedder``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray: ...
