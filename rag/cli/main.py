"""The ``ragtrust`` command line: model preparation, the LLM server, tenants, ingestion,
questions, the API server and benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer
from rich.console import Console
from rich.progress import Progress
from rich.text import Text

from rag.cli.audit import audit_app
from rag.cli.console import console, fail, out
from rag.cli.evals import eval_app
from rag.cli.privacy import privacy_app
from rag.cli.tenants import keys_app, tenants_app
from rag.cli.trust import trust_app
from rag.core.errors import RagtrustError
from rag.core.settings import Precision, checkpoint_name, get_settings
from rag.llm.model_prep import prepare_in_llm_venv

app = typer.Typer(
    help="ragtrust: trust-scored answers from your own documents.", no_args_is_help=True
)
model_app = typer.Typer(help="The embedded LLM checkpoint.", no_args_is_help=True)
llm_app = typer.Typer(help="The vLLM server.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (results under bench/results/).", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(llm_app, name="llm")
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")
app.add_typer(privacy_app, name="privacy")
app.add_typer(trust_app, name="trust")
app.add_typer(audit_app, name="audit")


@model_app.command("prepare")
def model_prepare(
    precision: Annotated[
        Precision | None, typer.Option(help="Default: RAGTRUST_LLM_PRECISION.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if the checkpoint exists.")] = False,
) -> None:
    """Convert the packaged SmolLM2-135M-Instruct GGUF into a checkpoint vLLM serves, and
    export the embedding model to int8 ONNX (the default embedder)."""
    from retrieval.onnx_embedder import export_int8

    settings = get_settings()
    if not settings.embedder_path.exists():
        with console.status("exporting the embedding model to int8 ONNX ..."):
            export_int8(settings.embedder_path)
    precision = precision or settings.llm_precision
    target = settings.models_dir / checkpoint_name(precision)
    try:
        built = prepare_in_llm_venv(settings.llm_python, precision, target, force=force)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise fail(f"model preparation failed: {exc}") from None
    if not built:
        console.print(f"model ready at {target}")


@llm_app.command("serve")
def llm_serve() -> None:
    """Start the embedded vLLM server in the foreground until Ctrl-C."""
    from rag.llm import server as llm_server

    settings = get_settings()
    with console.status("starting vLLM (about a minute) ...") as status:
        try:
            server = llm_server.start(
                settings, on_wait=lambda s: status.update(f"starting vLLM ... {s:.0f} s")
            )
        except RagtrustError as exc:
            raise fail(exc.message) from None
    console.print(f"vLLM serves [bold]{server.model}[/bold] at {server.base_url} (Ctrl-C stops)")
    try:
        while server.process is None or server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files and folders: .txt .md .html .pdf, and .jsonl for bulk."),
    ],
    tenant: Annotated[str, typer.Option(help="Tenant that owns the documents.")],
) -> None:
    """Index documents into a tenant (re-ingesting a document id replaces it)."""
    from rag.documents import document_limits, read_one, tenant_quota
    from rag.runtime import build_tenants
    from retrieval.build import build_retriever
    from retrieval.loaders import iter_files, load_file
    from retrieval.types import Document

    settings = get_settings()
    try:
        tenants = build_tenants(settings)
        tenants.require(tenant)
        quota = tenant_quota(settings, tenants, tenant)
        files = list(iter_files(paths))
    except RagtrustError as exc:
        raise fail(exc.message) from None
    docs: list[Document] = []
    errors: dict[str, str] = {}
    limits = document_limits(settings)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reading files", total=len(files))
        for f in files:
            root = next((p for p in paths if p.is_dir() and f.is_relative_to(p)), None)
            docs += read_one(partial(load_file, f, root=root, limits=limits), str(f), errors)
            progress.advance(task)
    with console.status("loading the embedding model ..."):
        retriever = build_retriever(settings)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("embedding chunks", total=None)
        try:
            report = retriever.ingest(
                tenant,
                docs,
                quota=quota,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except RagtrustError as exc:  # over the tenant's quota: nothing was indexed
            raise fail(exc.message) from None
    errors.update(report.errors)
    for where, why in errors.items():
        console.print(f"[yellow]skipped[/yellow] {where}: {why}")
    console.print(f"{tenant}: {report.documents} documents, {report.chunks} chunks indexed")
    if errors and not report.documents:
        raise typer.Exit(1)


@app.command()
def ask(
    question: str,
    api_key: Annotated[
        str, typer.Option(envvar="RAGTRUST_API_KEY", help="A user or admin key of the tenant.")
    ] = "",
    url: Annotated[str | None, typer.Option(help="Service URL.")] = None,
    answer_mode: Annotated[
        Literal["extractive", "generative", "auto"] | None,
        typer.Option(help="Quote the sources or let the LLM write (default: the tenant's)."),
    ] = None,
    raw: Annotated[bool, typer.Option("--json", help="Print the JSON response.")] = False,
) -> None:
    """Ask the running service a question (the key decides the tenant)."""
    settings = get_settings()
    if not api_key:
        raise fail("no API key: set RAGTRUST_API_KEY or pass --api-key (`ragtrust keys create`)")
    base = url or f"http://{settings.host}:{settings.port}"
    try:
        resp = httpx.post(
            f"{base}/v1/answer",
            json={"question": question, **({"answer_mode": answer_mode} if answer_mode else {})},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=settings.llm_timeout_s + 30,
        )
    except httpx.HTTPError as exc:
        raise fail(
            f"cannot reach ragtrust at {base} ({type(exc).__name__}); `make run` starts it"
        ) from None
    body = resp.json()
    if raw:
        out.print_json(json.dumps(body))
        return
    if resp.status_code != 200:
        raise fail(body.get("error", {}).get("message", resp.text))
    print_answer(out, body)


def print_answer(to: Console, body: Mapping[str, Any]) -> None:
    """An answer as a person reads it: the text, then whether to believe it (the score, the
    verdict, and each sentence no source supports), then the sources; cited ones starred."""
    to.print(body["answer"], markup=False, highlight=False)
    trust = body.get("trust") or {}
    if trust.get("score") is None:
        why = f"preset {trust['preset']}" if trust else "no answer"
        to.print(Text(f" trust not scored ({why})", "dim"))
    else:
        verdict = ("FLAGGED", "bold red") if trust["flagged"] else ("ok", "green")
        how = f" (threshold {trust['threshold']}, {trust['preset']}, {body['answer_mode']})"
        to.print(Text.assemble(f" trust {trust['score']:.2f} ", verdict, how))
    for s in trust.get("unsupported") or []:
        to.print(
            Text.assemble(
                ' unsupported: "', (s["text"], "yellow"), f'" (support {s["support"]:.2f})'
            )
        )
    for c in body["citations"]:
        mark = "*" if c["cited"] else " "
        to.print(
            f" {mark}[{c['source']}] {c['document_id']} ({c['chunk_id']}, score {c['score']:.3f})",
            markup=False,
            highlight=False,
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    log_format: Annotated[
        Literal["auto", "text", "json"] | None,
        typer.Option(
            help="auto: text on a terminal, JSON lines otherwise. Default: RAGTRUST_LOG_FORMAT."
        ),
    ] = None,
) -> None:
    """Run the HTTP API (starts the embedded vLLM server unless RAGTRUST_LLM_BASE_URL is set)."""
    import uvicorn

    from rag.api.observability import logging_config

    # Through the environment, so that the service's settings (its banner's URL) agree.
    given = {"RAGTRUST_HOST": host, "RAGTRUST_PORT": port}
    os.environ.update({k: str(v) for k, v in given.items() if v is not None})
    get_settings.cache_clear()
    settings = get_settings()
    uvicorn.run(
        "service:app",
        host=settings.host,
        port=settings.port,
        log_config=logging_config("INFO", log_format or settings.log_format),
        access_log=False,  # ragtrust.access replaces it (no raw paths or query strings)
        log_level="info",
    )


@bench_app.command("model")
def bench_model(
    questions: Annotated[int, typer.Option(help="SQuAD questions per precision.")] = 200,
    squad: Annotated[Path, typer.Option(help="SQuAD v1.1 JSON.")] = Path(
        "../shared/data/squad/dev.json"
    ),
    output: Annotated[Path, typer.Option("--out")] = Path("bench/results/model.json"),
    speed_only: Annotated[
        bool, typer.Option(help="Re-measure speed only, keeping --out's quality numbers.")
    ] = False,
) -> None:
    """Answer quality (SQuAD token-F1) and decode speed of bf16, int8 and int4 weights."""
    from bench.model import merge_speed, run

    n = 0 if speed_only else questions
    result = run(get_settings(), squad=squad, n_questions=n, console=console)
    if speed_only and output.exists():
        result = merge_speed(json.loads(output.read_text()), result)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    out.print_json(json.dumps(result))


@bench_app.command("retrieval")
def bench_retrieval(
    data: Annotated[
        Path, typer.Option(help="A BEIR folder (corpus, queries, qrels/train.tsv).")
    ] = Path("../shared/data/scifact"),
    output: Annotated[Path, typer.Option("--out")] = Path("bench/results/retrieval.json"),
) -> None:
    """Ingestion throughput, nDCG of each mode, top-10 latency at ~10k and 100k chunks."""
    from bench.retrieval import run

    result = run(get_settings(), data, console)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    out.print_json(json.dumps(result))


@bench_app.command("answer")
def bench_answer(
    concurrency: Annotated[str, typer.Option(help="Comma-separated levels.")] = "1,4,16",
    requests: Annotated[
        int, typer.Option(help="Requests per arm and level (rounded up to whole waves).")
    ] = 8,
    corpus: Annotated[Path, typer.Option(help="Folder or file to index.")] = Path("data/demo"),
    questions: Annotated[
        Path | None, typer.Option(help="One question per line (default: the demo questions).")
    ] = None,
    raw: Annotated[bool, typer.Option("--json", help="Print the JSON, not the table.")] = False,
    output: Annotated[Path, typer.Option("--out")] = Path("bench/results/answer.json"),
    note: Annotated[str, typer.Option(help="Run conditions kept in the JSON.")] = "",
) -> None:
    """Latency and answers/s of raw vLLM vs /v1/answer (generative with trust off and with the
    default preset, extractive with the default preset) at each concurrency, time to first
    token, cold start; on a stack it starts (or reuses)."""
    from bench.answer import DEMO_QUESTIONS, run, table

    qs = questions.read_text().split("\n") if questions else DEMO_QUESTIONS
    levels = [int(c) for c in concurrency.split(",")]
    qs = [q.strip() for q in qs if q.strip()]
    result = run(get_settings(), levels, requests, corpus, qs, console, note=note)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    if raw:
        out.print_json(json.dumps(result))
    else:
        out.print(table(result))
