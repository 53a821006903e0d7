"""The default embedder: the same all-MiniLM-L6-v2, exported to ONNX with int8 weights.

Why: on a 2-core CPU, embedding is the whole cost of ingestion (BM25 and FAISS are
seconds). Dynamically quantized int8 weights (per channel, matrix multiplies only) run about
2.6x faster than the PyTorch model under ONNX Runtime, at a cosine of ~0.99 to the fp32
vectors — the recipe sentence-transformers documents for its ONNX backend. That backend
goes through ``optimum``, whose releases pin transformers below the 5.x that
sentence-transformers 6 needs, so the export is done here with ``torch.onnx`` and
``onnxruntime.quantization`` directly, once, from the packaged model, into the models folder.
Pooling (mean over tokens, L2-normalized) is the model's own ``1_Pooling`` configuration.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.embeddings import packaged_model_dir

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAX_TOKENS = 256  # the model's max_seq_length
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_int8(target: Path, model_dir: Path | None = None) -> Path:
    """Write ``target`` (an int8 ONNX model) unless it exists; safe to race from processes."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            _export(target, model_dir or packaged_model_dir())
    return target


def _export(target: Path, model_dir: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    class _Encoder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:  # fmt: skip
            out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids)  # fmt: skip
            return out.last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    sample = AutoTokenizer.from_pretrained(str(model_dir))(
        ["an example", "another example sentence"], return_tensors="pt", padding=True
    )
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = Path(tmp) / "model.onnx"
        axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "hidden")}
        torch.onnx.export(
            _Encoder(model), tuple(sample[name] for name in _INPUTS), str(fp32),
            input_names=list(_INPUTS), output_names=["hidden"], dynamic_axes=axes,
            opset_version=17, dynamo=False,
        )  # fmt: skip
        int8 = Path(tmp) / "model-int8.onnx"
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])  # fmt: skip
        os.replace(int8, target)


def load_tokenizer(model_dir: Path | None = None) -> Tokenizer:
    """The model's own tokenizer, truncating at its window as the embedder does."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str((model_dir or packaged_model_dir()) / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    return tok


class OnnxEmbedder:
    """Normalized embeddings, so inner product is cosine similarity in FAISS."""

    dim = 384

    def __init__(self, onnx_path: Path, model_dir: Path | None = None, threads: int = 0) -> None:
        import onnxruntime as ort

        model_dir = model_dir or packaged_model_dir()
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{model_dir}: only mean pooling is supported")
        self.dim = int(pooling["word_embedding_dimension"])
        self._tokenizer = load_tokenizer(model_dir)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        # Longest first and batched by length: padding is wasted compute.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            enc = self._tokenizer.encode_batch([texts[i] for i in idx])
            feeds = {
                "input_ids": np.array([e.ids for e in enc], np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], np.int64),
            }
            hidden = self._session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out
