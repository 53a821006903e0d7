"""``ragtrust audit ...``: verify the hash chains, export a tenant's records, prune old ones."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from audit.chain import BrokenLink
from audit.records import ExportFormat
from rag.cli.console import console, fail, out
from rag.core.errors import RagtrustError
from rag.core.settings import get_settings

if TYPE_CHECKING:
    from audit.log import AuditLog

audit_app = typer.Typer(
    help="The tamper-evident audit log: verify, export, check an export, prune.",
    no_args_is_help=True,
)

DATES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"]
WHEN = "A date or time, UTC unless it carries an offset"


def _log() -> AuditLog:
    from audit.log import AuditLog
    from rag.runtime import build_engine

    settings = get_settings()
    return AuditLog.from_settings(settings, build_engine(settings))


@audit_app.command("verify")
def verify(
    tenant: Annotated[str | None, typer.Option(help="One tenant; default: all.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Check an export instead of the database (as `check`)."),
    ] = None,
) -> None:
    """Recompute every record's hash and each chain's links; exit 1 at the first broken one."""
    if file is not None:
        _verify_file(file)
        return
    try:
        with console.status("verifying the audit chains ..."):
            report = _log().verify(tenant)
    except RagtrustError as exc:
        raise fail(exc.message) from None
    for t in report.tenants:
        span = f"seq {t.first_seq}..{t.last_seq}" if t.records else "no records"
        pruned = f", {t.pruned} pruned up to seq {t.checkpoint_seq}" if t.checkpoint_seq else ""
        _print(t.tenant, t.broken, f"{t.records} records ({span}){pruned}")
    if not report.tenants:
        out.print("no audit records yet")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="An export (.jsonl or .csv).", metavar="FILE")],
) -> None:
    """Check an exported file on its own: every record's hash and link, and the records
    against the export's signed seal. Exit 0: whole; 1: truncated, a record missing,
    altered or fabricated; 2: unsealed (cut short, or exported before seals existed)."""
    _verify_file(path)


def _verify_file(path: Path) -> None:
    from pydantic import ValidationError

    from audit import export, seal
    from audit.signing import existing_signing_key

    key = existing_signing_key(get_settings())
    if key is None:
        raise fail(
            "no audit signing key to check the seal with: set RAGTRUST_AUDIT_SIGNING_KEY "
            "(or RAGTRUST_DATA_DIR to where audit-signing.key is)"
        )
    fmt: ExportFormat = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    try:
        with path.open(encoding="utf-8", newline="") as f:
            result = seal.check(export.items(f, fmt), key)
    except (OSError, ValueError, ValidationError) as exc:
        raise fail(f"cannot read {path} as {fmt}: {exc}") from None
    span = f" (seq {result.first_seq}..{result.last_seq})" if result.records else ""
    summary = f"{result.records} records{span}"
    if result.status == "unsealed":
        out.print(
            f"[yellow]UNSEALED[/yellow] {path}: {summary} link up, but the file has no seal: "
            "it may have been cut short (or was exported before seals existed)",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    if result.seal is not None and result.status == "whole":
        sealed = result.seal
        window = f", from {sealed.start or 'the start'} to {sealed.end or 'the end'}"
        summary += f", whole: sealed for {sealed.tenant}{window}; head at seq {sealed.head_seq}"
    broken = result.broken
    if broken is not None:
        broken = broken.model_copy(update={"reason": f"{result.status}: {broken.reason}"})
    _print(str(path), broken, summary)
    if broken is not None:
        raise typer.Exit(1)


def _print(what: str, broken: BrokenLink | None, summary: str) -> None:
    if broken is None:
        out.print(f"[green]ok[/green]     {what}: {summary}", soft_wrap=True)
    else:
        link = f"first broken link at seq {broken.seq}: {broken.reason}"
        out.print(f"[red]BROKEN[/red] {what}: {link}", soft_wrap=True)


@audit_app.command("export")
def export(
    tenant: Annotated[str, typer.Option(help="The tenant whose records to export.")],
    output: Annotated[Path, typer.Option("--out", help="File to write.")],
    start: Annotated[
        datetime | None, typer.Option("--from", formats=DATES, help=f"{WHEN}; default: all.")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option("--to", formats=DATES, help=f"{WHEN} (excluded).")
    ] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
) -> None:
    """Write the tenant's records with FROM <= timestamp < TO, in chain order, with their
    hashes (so the file can be verified on its own)."""
    log = _log()
    columns = (
        TextColumn("exporting {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        total = log.count(tenant, start, end)
        lines = log.export(tenant, start, end, fmt)
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8", newline="") as f, Progress(
            *columns, console=console, transient=True
        ) as progress:  # fmt: skip
            task = progress.add_task(tenant, total=total)
            for written, line in enumerate(lines):  # CSV: the header is line 0
                f.write(line)
                if written % 1000 == 0:
                    progress.update(task, completed=min(written, total))
    except RagtrustError as exc:
        raise fail(exc.message) from None
    console.print(f"{total} records of {tenant} written to {output}")


@audit_app.command("prune")
def prune(
    before: Annotated[datetime, typer.Option(formats=DATES, help=f"{WHEN}.")],
    tenant: Annotated[str | None, typer.Option(help="One tenant; default: all.")] = None,
) -> None:
    """Delete records older than BEFORE, leaving a signed checkpoint so that the rest of each
    chain still verifies. Refuses a tenant whose chain is broken."""
    try:
        with console.status("verifying and pruning ..."):
            pruned = _log().prune(before, tenant)
    except RagtrustError as exc:
        raise fail(exc.message) from None
    for name, count in pruned.items():
        out.print(f"{name}: {count} records pruned")
