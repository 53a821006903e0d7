"""``ragtrust eval ...``: the evaluation commands.

Their names and JSON keys are contracts other checks rely on (DESIGN.md): keep them stable.
Each command prints one JSON object on stdout with ``--json``; progress goes to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from rag.cli.console import console, fail, out
from rag.core.types import RETRIEVAL_MODES

eval_app = typer.Typer(help="Evaluations on labelled data.", no_args_is_help=True)


# --- trust (issue 4) --------------------------------------------------------------------


@eval_app.command("hallucination")
def eval_hallucination(
    data: Annotated[Path, typer.Option(help="HaluEval QA jsonl.")],
    preset: Annotated[str, typer.Option(help="off, fast, balanced or thorough.")] = "",
    limit: Annotated[int | None, typer.Option(help="Score only the first N items.")] = None,
    skip: Annotated[int, typer.Option(help="Skip the first N items (held-out splits).")] = 0,
    length_matched_only: Annotated[
        bool, typer.Option(help="Only items whose two answers differ by at most 2 words.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write ROC/reliability PNGs here.")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="One JSON line per answer.")] = None,
    calibration: Annotated[Path | None, typer.Option(help="Default: the shipped one.")] = None,
) -> None:
    """Trust on HaluEval QA: each item's right and hallucinated answer, knowledge as context."""
    from rag.cli.trust import check_preset, run_with_progress, scorer_session
    from rag.core.settings import get_settings
    from trust.datasets import load_halueval
    from trust.runs import hallucination_metrics, score_halueval

    settings = get_settings()
    name = check_preset(preset or settings.trust_preset)
    items = [
        it for it in load_halueval(data)[skip:] if it.length_matched or not length_matched_only
    ]
    items = items[:limit] if limit is not None else items

    async def work(advance: Callable[[int], None]) -> list[dict[str, Any]]:
        async with scorer_session(calibration) as scorer:
            return await score_halueval(
                items, scorer, preset=name, threshold=settings.trust_threshold, on_done=advance
            )

    records = run_with_progress(f"hallucination ({name})", len(items), work)
    _finish(hallucination_metrics(records), records, as_json, output, plot, f"HaluEval ({name})")


@eval_app.command("grounding")
def eval_grounding(
    data: Annotated[Path, typer.Option(help="SummEdits json (list of doc/summary/label).")],
    preset: Annotated[str, typer.Option(help="Default: fast (grounding + confidence).")] = "fast",
    split: Annotated[str | None, typer.Option(help="Only items of this split.")] = None,
    limit: Annotated[int | None, typer.Option(help="Score only the first N items.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write ROC/reliability PNGs here.")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="One JSON line per summary.")] = None,
    calibration: Annotated[Path | None, typer.Option(help="Default: the shipped one.")] = None,
) -> None:
    """Trust on SummEdits: each summary scored as an answer with its document as the context;
    flagged = inconsistent."""
    from rag.cli.trust import check_preset, run_with_progress, scorer_session
    from rag.core.settings import get_settings
    from trust.datasets import load_summedits
    from trust.runs import grounding_metrics, score_summedits

    settings = get_settings()
    name = check_preset(preset)
    items = [it for it in load_summedits(data) if split is None or it.split == split]
    items = items[:limit] if limit is not None else items

    async def work(advance: Callable[[int], None]) -> list[dict[str, Any]]:
        async with scorer_session(calibration) as scorer:
            return await score_summedits(
                items, scorer, preset=name, threshold=settings.trust_threshold, on_done=advance
            )

    records = run_with_progress(f"grounding ({name})", len(items), work)
    _finish(grounding_metrics(records), records, as_json, output, plot, f"SummEdits ({name})")


def _finish(
    metrics: dict[str, Any], records: list[dict[str, Any]], as_json: bool,
    output: Path | None, plot: Path | None, title: str,
) -> None:  # fmt: skip
    from rag.cli.trust import write_records

    if output is not None:
        write_records(output, records)
    if plot is not None:
        from trust.plots import write_plots

        scored = [r for r in records if r["score"] is not None]
        for p in write_plots(plot, [r["label"] for r in scored], [r["score"] for r in scored],
                             title=title):  # fmt: skip
            console.print(f"wrote {p}")
    if as_json:
        out.print_json(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            out.print(f"{key:>24}  {value}")


# --- privacy (issue 5) ------------------------------------------------------------------


@eval_app.command("pii")
def eval_pii(
    data: Annotated[
        Path | None, typer.Option(help="presidio-research JSON (full_text + spans).")
    ] = None,
    generated: Annotated[
        str | None,
        typer.Option(
            help="tune or fresh: sentences presidio-evaluator generates from that "
            "part of its templates (fresh: never tuned on)."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Generation seed (default: the part's).")] = None,
    n: Annotated[int, typer.Option(min=1, help="How many sentences to generate.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    baseline: Annotated[
        bool, typer.Option(help="Score out-of-the-box Presidio instead, for comparison.")
    ] = False,
    split: Annotated[
        str, typer.Option(help="all, or dev/holdout (1 template in 5 held out).")
    ] = "all",
    record: Annotated[
        Path | None, typer.Option(help="Merge the results into this JSON (bench/results/pii.json).")
    ] = None,
) -> None:
    """PII detection, span level: micro P/R/F1, per entity type, any_pii_recall and the time
    per sentence; on a file, on generated sentences, or both side by side."""
    from privacy.evaluate import Split, baseline_detector, load, merge_results, ragtrust_detector
    from rag.core.settings import get_settings

    if split not in ("all", "dev", "holdout"):
        raise typer.BadParameter("--split is all, dev or holdout")
    if generated not in (None, "tune", "fresh"):
        raise typer.BadParameter("--generated is tune or fresh")
    if data is None and generated is None:
        raise typer.BadParameter("give --data, --generated, or both")
    if record is not None and baseline:
        raise typer.BadParameter("--record keeps ragtrust's numbers; --baseline only compares")
    entities = get_settings().privacy_entities
    mode = "presidio-out-of-the-box" if baseline else "ragtrust"
    sets: dict[str, tuple[list[Any], dict[str, Any]]] = {}
    if data is not None:
        sets["file"] = load(data, cast(Split, split), entities), {"data": str(data), "split": split}
    if generated is not None:
        sets["generated"] = _generated(generated, seed, n, entities)
    with console.status("loading the PII analyzer ..."):
        detector = baseline_detector(entities) if baseline else ragtrust_detector(entities)
    results = {
        name: {"mode": mode, **about, **_scored(f"PII eval ({name})", samples, detector)}
        for name, (samples, about) in sets.items()
    }
    if record is not None:
        updates: dict[str, Any] = {"what": PII_RECORD_WHAT, "command": PII_RECORD_COMMAND}
        if "file" in results:
            updates[split] = results["file"]
        if generated is not None:
            updates["generated"] = {generated: results["generated"]}
        merge_results(record, updates)
        console.print(f"wrote {record}")
    if as_json:
        out.print_json(json.dumps(results["file" if "file" in results else "generated"]
                                  if len(results) == 1 else results))  # fmt: skip
        return
    for name, result in results.items():
        m = result["micro"]
        out.print(f"{name} ({result['mode']}): n={result['n']} spans={result['spans']}  "
                  f"micro P={m['precision']} R={m['recall']} F1={m['f1']}  "
                  f"any_pii_recall={result['any_pii_recall']}  "
                  f"p50={result['latency_ms']['p50']} ms")  # fmt: skip
        for kind, row in result["per_entity"].items():
            out.print(f"  {kind:<18} P={row['precision']:<6} R={row['recall']:<6} "
                      f"F1={row['f1']:<6} support={row['support']}")  # fmt: skip
    if len(results) > 1:
        out.print(_side_by_side(results))


def _side_by_side(results: dict[str, dict[str, Any]]) -> Any:
    """Recall and precision per type, one column pair per set: where the file flatters."""
    from rich.table import Table

    table = Table(title="side by side (R / P)")
    table.add_column("")
    for name in results:
        table.add_column(name, justify="right")
    rows: dict[str, list[str]] = {"micro": [], "any_pii_recall": []}
    for result in results.values():
        rows["micro"].append(f"{result['micro']['recall']} / {result['micro']['precision']}")
        rows["any_pii_recall"].append(str(result["any_pii_recall"]))
    for kind in sorted({k for r in results.values() for k in r["per_entity"]}):
        rows[kind] = [
            f"{row['recall']} / {row['precision']}" if (row := r["per_entity"].get(kind)) else "-"
            for r in results.values()
        ]
    for label, cells in rows.items():
        table.add_row(label, *cells)
    return table


PII_RECORD_WHAT = (
    "ragtrust eval pii, span level: the dev file (../shared/data/pii/synth_dataset_v2.json, "
    "tuned on) by split, and under `generated` sentences presidio-evaluator 0.3.2 generates "
    "(privacy/synthetic.py): tune = the templates tuning may look at, fresh = the others, "
    "never tuned on, another seed"
)
PII_RECORD_COMMAND = (
    ".venv/bin/ragtrust eval pii --data ../shared/data/pii/synth_dataset_v2.json "
    "[--split dev|holdout] [--generated tune|fresh] --record bench/results/pii.json"
)


def _generated(
    part: str, seed: int | None, n: int, entities: list[str]
) -> tuple[list[Any], dict[str, Any]]:
    from privacy.synthetic import Part, generate

    try:
        with console.status(f"generating {n} sentences ({part}) ..."):
            made = generate(cast(Part, part), n, seed, entities)
    except ModuleNotFoundError as exc:  # presidio-evaluator is a dev dependency
        if not (exc.name or "").startswith("presidio_evaluator"):
            raise
        raise fail("--generated needs presidio-evaluator: pip install -e '.[dev]'") from exc
    return made.samples, {"generated": part, "seed": made.seed, "templates": made.templates}


def _scored(title: str, samples: list[Any], detector: Any) -> dict[str, Any]:
    from rich.progress import Progress

    from privacy.evaluate import evaluate

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(title, total=len(samples))
        return evaluate(samples, detector, lambda done, _: progress.update(task, completed=done))


# --- retrieval (issue 3) ----------------------------------------------------------------


@eval_app.command("retrieval")
def eval_retrieval(
    corpus: Annotated[Path, typer.Option(help="BEIR corpus.jsonl ({_id, title, text}).")],
    queries: Annotated[Path, typer.Option(help="BEIR queries.jsonl ({_id, text}).")],
    qrels: Annotated[Path, typer.Option(help="BEIR qrels tsv (query-id corpus-id score).")],
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    output: Annotated[Path | None, typer.Option("--out", help="One JSON line per query.")] = None,
) -> None:
    """Index a BEIR collection into a temporary tenant and score every query with qrels."""
    from retrieval.beir import index_corpus, run_queries
    from retrieval.evaluate import load_qrels, load_queries

    if mode not in RETRIEVAL_MODES:
        raise typer.BadParameter("--mode is hybrid, dense or bm25")
    labels = load_qrels(qrels)
    questions = load_queries(queries)
    with index_corpus(corpus, console) as session:
        results, result = run_queries(session, questions, labels, mode, console)
    if output is not None:
        with output.open("w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps({"id": r.query_id, "ranked": r.ranked[:100],
                                    "scores": [round(s, 5) for s in r.scores[:100]],
                                    "ndcg@10": round(r.ndcg10, 5)}) + "\n")  # fmt: skip
    if as_json:
        out.print_json(json.dumps(result))
    else:
        for key, value in result.items():
            out.print(f"{key:>12}  {value}")


# --- answers end to end (issue 4) -------------------------------------------------------


@eval_app.command("qa")
def eval_qa(
    data: Annotated[Path, typer.Option(help="SQuAD v1.1 JSON.")],
    preset: Annotated[str, typer.Option(help="off, fast, balanced or thorough.")] = "",
    limit: Annotated[int | None, typer.Option(help="Answer only the first N questions.")] = None,
    skip: Annotated[int, typer.Option(help="Skip the first N questions (held-out splits).")] = 0,
    answer_mode: Annotated[
        str, typer.Option(help="extractive, generative or auto (default: the service's).")
    ] = "",
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Answers in flight.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Write reliability and coverage-accuracy PNGs here.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--out", help="One JSON line per answer.")] = None,
) -> None:
    """SQuAD end to end: every paragraph indexed into a temporary tenant, every question
    answered by the whole pipeline; correct = the gold span in an answer of at most two units
    and 60 words."""
    from rag.cli.trust import check_preset, run_with_progress
    from rag.core.settings import get_settings
    from rag.qa_eval import answer_questions, qa_index, qa_metrics
    from rag.squad import load_squad

    name = check_preset(preset or get_settings().trust_preset)
    mode = answer_mode or get_settings().answer_mode
    if mode not in ("extractive", "generative", "auto"):
        raise typer.BadParameter("--answer-mode is extractive, generative or auto")
    items = load_squad(data)
    questions = items[skip:][:limit] if limit is not None else items[skip:]
    with qa_index(items, console) as session:

        async def work(advance: Callable[[int], None]) -> list[dict[str, Any]]:
            return await answer_questions(
                session, questions, preset=name, answer_mode=mode,  # type: ignore[arg-type]
                concurrency=concurrency, on_done=advance,
            )  # fmt: skip

        records = run_with_progress(f"qa ({mode}, {name})", len(questions), work)
    _finish(qa_metrics(records), records, as_json, output, plot, f"SQuAD ({mode}, {name})")
