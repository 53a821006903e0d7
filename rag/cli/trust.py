"""``ragtrust trust ...``: refit the trust calibration; and the scorer session the trust
evaluations share (the configured LLM, the embedder, the shipped calibration)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag.cli.console import console, out
from rag.core.settings import get_settings

if TYPE_CHECKING:
    from trust.scorer import TrustScorer

trust_app = typer.Typer(help="Trust scoring: calibration.", no_args_is_help=True)
T = TypeVar("T")
EVAL_LLM_TIMEOUT_S = 900.0

Preset = Annotated[str, typer.Option(help="off, fast, balanced or thorough.")]


@asynccontextmanager
async def scorer_session(calibration: Path | None = None) -> AsyncIterator[TrustScorer]:
    """A TrustScorer on the configured LLM (reusing a running embedded server)."""
    from rag.runtime import llm_client
    from retrieval.build import build_embedder
    from trust import calibration as calibration_mod
    from trust.scorer import TrustScorer

    # A batch evaluation queues far more requests than a user does: wait for them.
    settings = get_settings().model_copy(update={"llm_timeout_s": EVAL_LLM_TIMEOUT_S})
    # The service's own embedder (int8 ONNX by default): a calibration fitted on another
    # model's cosines would be fitted on a signal the service does not compute.
    embedder = await asyncio.to_thread(build_embedder, settings)
    async with llm_client(settings) as llm:
        scorer = TrustScorer.from_settings(settings, llm, embedder)
        if calibration is not None:
            scorer.calibration = calibration_mod.load(calibration)
        yield scorer


def run_with_progress(
    label: str, total: int, work: Callable[[Callable[[int], None]], Coroutine[Any, Any, T]]
) -> T:
    """Run ``work(advance)`` with a progress bar on stderr."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(label, total=total)
        return asyncio.run(work(lambda n: progress.advance(task, n)))


def check_preset(preset: str) -> Any:
    from trust.presets import PRESET_NAMES

    if preset not in PRESET_NAMES:
        console.print(f"[red]error:[/red] unknown preset {preset!r}; use one of {PRESET_NAMES}")
        raise typer.Exit(2)
    return preset


def write_records(path: Path, records: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def _read_records(path: Path) -> list[dict[str, Any]] | None:
    """Scored records (an eval's --out file), or None when ``path`` is a dataset instead."""
    with path.open(encoding="utf-8") as f:
        first = f.readline()
    try:
        row = json.loads(first)
    except ValueError:
        return None
    if not isinstance(row, dict) or "signals" not in row:
        return None
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@trust_app.command("calibrate")
def calibrate(
    data: Annotated[Path, typer.Option(help="HaluEval QA jsonl, or an eval's --out records.")],
    preset: Preset = "thorough",
    limit: Annotated[int | None, typer.Option(help="Use only the first N items.")] = None,
    skip: Annotated[int, typer.Option(help="Skip the first N items (held-out splits).")] = 0,
    output: Annotated[Path | None, typer.Option("--out", help="Default: shipped path.")] = None,
) -> None:
    """Refit the fusion + calibration models from labelled answers and write them as JSON.

    Scores every answer with the preset's signals (thorough = all of them, so every preset's
    subset gets its model), then fits one logistic regression per subset of signals.
    """
    from trust import calibration as calibration_mod
    from trust.datasets import load_halueval
    from trust.evaluate import auroc
    from trust.runs import score_halueval

    settings = get_settings()
    records = _read_records(data)
    if records is None:
        items = load_halueval(data)[skip:]
        items = items[:limit] if limit is not None else items
        name = check_preset(preset)
        threshold = settings.trust_threshold

        async def work(advance: Callable[[int], None]) -> list[dict[str, Any]]:
            async with scorer_session() as scorer:
                # Uncalibrated, every signal of the preset is paid for: scored with the shipped
                # fit, a signal it dropped would never be computed, so never come back.
                scorer.calibration = calibration_mod.Calibration()
                return await score_halueval(
                    items, scorer, preset=name, threshold=threshold, on_done=advance
                )

        records = run_with_progress("scoring answers", len(items), work)
        where = f"{data.name} items {skip}..{skip + len(items)} ({preset})"
    else:
        records = records[skip:][:limit] if limit is not None else records[skip:]
        where = f"{data.name} records {skip}..{skip + len(records)}"
    rows = [r["signals"] for r in records]
    labels = [int(r["label"]) for r in records]
    cal = calibration_mod.fit(rows, labels, fitted_on=where)
    target = output or settings.trust_calibration
    cal.save(target)
    full = max(cal.models.values(), key=lambda m: len(m.features), default=None)
    fit_auroc = auroc(labels, [cal.score(r) or 0.0 for r in rows])
    console.print(f"{len(cal.models)} models fitted on {len(rows)} answers -> {target}")
    out.print_json(json.dumps({
        "models": len(cal.models), "n": len(rows), "fitted_on": where,
        "auroc_on_fit_data": None if fit_auroc is None else round(fit_auroc, 4),
        "largest_model": None if full is None else dict(zip(full.features, full.coef, strict=True)),
    }))  # fmt: skip


@trust_app.command("bench")
def bench(
    squad: Annotated[Path, typer.Option("--data", help="SQuAD v1.1 JSON.")] = Path(
        "../shared/data/squad/dev.json"
    ),
    questions: Annotated[int, typer.Option(help="Questions, answered one at a time.")] = 30,
    preset: Preset = "",
    output: Annotated[Path, typer.Option("--out")] = Path("bench/results/trust.json"),
) -> None:
    """Median latency of an answer alone vs. answer + trust, side by side in one run."""
    from bench import trust as bench_mod
    from rag.squad import load_squad

    settings = get_settings()
    name = check_preset(preset or settings.trust_preset)
    items = load_squad(squad)[:questions]

    async def work(advance: Callable[[int], None]) -> dict[str, Any]:
        async with scorer_session() as scorer:
            return await bench_mod.run(
                items, scorer, preset=name, max_tokens=settings.max_answer_tokens,
                threshold=settings.trust_threshold, on_done=advance,
            )  # fmt: skip

    result = run_with_progress(f"answer vs answer + trust ({name})", len(items), work)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    out.print_json(json.dumps({k: v for k, v in result.items() if k != "items"}))
