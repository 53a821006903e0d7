"""Audit log cost: the write overhead one request pays (append p50/p95), and export and
verify throughput over 100k records, on SQLite (WAL, the embedded default) and on PostgreSQL
(a private durable cluster, when the server binaries are installed).

Run: .venv/bin/python bench/audit.py [--appends N] [--records N]; writes
bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import insert
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test helpers (events, throwaway PostgreSQL)

from audit.chain import GENESIS, head_signature, record_hash  # noqa: E402
from audit.log import HEADS, RECORDS, AuditLog  # noqa: E402
from audit.records import ExportFormat, event_payload, row_values  # noqa: E402
from rag.db import make_engine  # noqa: E402
from tests.audit import pgcluster  # noqa: E402
from tests.audit.events import event  # noqa: E402

OUT = Path(__file__).parent / "results" / "audit.json"
KEY = os.urandom(32)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    )  # fmt: skip


def percentile(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)
    )


def bench_append(log: AuditLog, n: int, progress: Progress, label: str) -> dict[str, float]:
    """One request's record at a time, as the service writes them (several tenants)."""
    task = progress.add_task(f"{label}: append", total=n)
    times = []
    for i in range(n):
        e = event(i, f"tenant-{i % 4}")
        t = time.perf_counter()
        log.append(e)
        times.append((time.perf_counter() - t) * 1000)
        progress.advance(task)
    return {
        "n": n,
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(percentile(times, 95), 3),
        "mean_ms": round(statistics.fmean(times), 3),
    }


def seed(engine: Engine, tenant: str, n: int, progress: Progress, label: str) -> None:
    """n chained records written in bulk (what n appends would leave, without waiting n
    commits); the head is signed with KEY so that verify accepts the chain."""
    task = progress.add_task(f"{label}: seed {n} records", total=n)
    prev, batch = GENESIS, []
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            e = event(seq, tenant)
            digest = record_hash(event_payload(e), seq, prev)
            batch.append({**row_values(e), "seq": seq, "prev_hash": prev, "hash": digest})
            prev = digest
            if len(batch) == 5000 or seq == n:
                conn.execute(insert(RECORDS), batch)
                progress.advance(task, len(batch))
                batch = []
        conn.execute(
            insert(HEADS),
            {"tenant": tenant, "seq": n, "hash": prev,
             "signature": head_signature(KEY, tenant, n, prev)},
        )  # fmt: skip


def timed(work: Callable[[], int]) -> tuple[int, float]:
    t = time.perf_counter()
    count = work()
    return count, time.perf_counter() - t


def _export_lines(log: AuditLog, tenant: str, fmt: ExportFormat) -> int:
    return drain(log.export(tenant, fmt=fmt))


def drain(lines: Iterator[str]) -> int:
    return sum(1 for _ in lines)


def bench_read(log: AuditLog, engine: Engine, n: int, progress: Progress, label: str) -> dict:
    tenant = "bulk"
    seed(engine, tenant, n, progress, label)
    result: dict[str, Any] = {"records": n}
    for fmt in ("jsonl", "csv"):
        with progress.console.status(f"{label}: export {fmt} ..."):
            lines, seconds = timed(partial(_export_lines, log, tenant, fmt))
        assert lines == n + (fmt == "csv")
        result[f"export_{fmt}_records_per_s"] = round(n / seconds)
    with progress.console.status(f"{label}: verify ..."):
        checked, seconds = timed(lambda: log.verify(tenant).tenants[0].records)
    assert checked == n
    result["verify_records_per_s"] = round(n / seconds)
    return result


def run_backend(url: str, label: str, args: argparse.Namespace, console: Console) -> dict:
    engine = make_engine(url)
    log = AuditLog(engine, KEY)
    try:
        with _progress(console) as progress:
            appends = bench_append(log, args.appends, progress, label)
            reads = bench_read(log, engine, args.records, progress, label)
        return {"append": appends, **reads}
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    console = Console()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "appends": args.appends,
        "records": args.records,
        "durability": "SQLite: WAL, synchronous=FULL (each commit fsyncs the WAL); "
        "PostgreSQL: defaults (fsync on, synchronous_commit on)",
    }
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run_backend(f"sqlite:///{tmp}/audit.db", "sqlite", args, console)
    if pgcluster.binaries() is not None:
        with console.status("starting a private PostgreSQL ..."):
            cluster = pgcluster.start(durable=True)
        try:
            url = cluster.create_database()
            results["postgresql"] = run_backend(url, "postgresql", args, console)
        finally:
            cluster.stop()
    table = Table("database", "append p50 ms", "append p95 ms", "export jsonl rec/s",
                  "export csv rec/s", "verify rec/s")  # fmt: skip
    for name in ("sqlite", "postgresql"):
        if r := results.get(name):
            table.add_row(
                name, str(r["append"]["p50_ms"]), str(r["append"]["p95_ms"]),
                f"{r['export_jsonl_records_per_s']:,}", f"{r['export_csv_records_per_s']:,}",
                f"{r['verify_records_per_s']:,}",
            )  # fmt: skip
    console.print(table)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"written to {args.out}")


if __name__ == "__main__":
    main()
