"""Added latency of the privacy step: a question plus 5 retrieved chunks of ~500 characters,
analysed, pseudonymized through one vault, and the answer restored (issue 5: p50 <= 30 ms).

Run: .venv/bin/python bench/privacy.py [--runs N]; writes bench/results/privacy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `privacy` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from privacy.analyzer import PiiAnalyzer  # noqa: E402
from privacy.policy import PrivacyGuard, PrivacyPolicy  # noqa: E402

OUT = Path(__file__).parent / "results" / "privacy.json"
QUESTION = "What is the e-mail address of Margaret Thornbury, and who handles payroll in Paris?"
CHUNK = (
    "The benefits officer is Margaret Thornbury. Her e-mail address is "
    "margaret.thornbury@example.com and her phone number is +1-202-555-0178. Payroll questions "
    "go to Tomasz Wiśniewski, who works at 41 Rue de la Paix, Paris. Full-time employees "
    "receive 30 vacation days per calendar year; part-time employees receive a pro-rated share. "
    "Reimbursements are paid to the IBAN GB33BUKB20201555555555 within ten working days of an "
    "approved claim. Requests for unpaid leave go to your manager at least four weeks ahead. "
)


def chunks() -> list[str]:
    """Five ~500-character chunks; the fifth without PII, like most policy text."""
    plain = (
        "Employees may carry over up to five unused vacation days into the next calendar year. "
        "Days carried over expire on 31 March. Sick leave does not count against vacation days "
        "and requires a doctor's note after three consecutive days of absence. Parental leave "
        "follows the statutory rules; the company tops up pay to 100% for the first eight weeks. "
        "Questions about leave balances are answered by the HR portal, available around the clock "
        "from the intranet home page under My Time."
    )
    return [CHUNK[:500]] * 4 + [plain[:500]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    console = Console()
    with console.status("loading the PII analyzer ..."):
        guard = PrivacyGuard(PiiAnalyzer())
    policy = PrivacyPolicy()
    texts = chunks()
    answer = "Write to <EMAIL_ADDRESS_1>; <PERSON 2> handles payroll [1]."
    for _ in range(5):
        guard.protect(QUESTION, texts, policy)

    def measure(cold: bool) -> dict[str, float]:
        times = []
        for i in range(args.runs):
            # Cold: every chunk new to the cache (a first retrieval); warm: chunks seen
            # before, only the question analysed. A new question each run either way.
            batch = [f"{t} (rev {i})" for t in texts] if cold else texts
            t0 = time.perf_counter()
            safe = guard.protect(f"{QUESTION} ({i})", batch, policy)
            safe.vault.restore(answer)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        return {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "mean_ms": round(statistics.fmean(times), 2),
        }

    rows = {"cold_chunks": measure(cold=True), "cached_chunks": measure(cold=False)}
    result = {
        "what": "question + 5 chunks of ~500 chars: analyze, pseudonymize, restore the answer",
        "chars": len(QUESTION) + sum(len(t) for t in texts),
        "runs": args.runs,
        **rows,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    table = Table(title=f"privacy step latency ({result['chars']} chars, {args.runs} runs)")
    for col in ("chunks", "p50 ms", "p95 ms", "mean ms"):
        table.add_column(col, justify="right")
    for name, row in rows.items():
        table.add_row(name, *(str(row[k]) for k in ("p50_ms", "p95_ms", "mean_ms")))
    console.print(table)
    console.print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
