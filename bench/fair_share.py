"""One tenant with many answers in flight, another asking as usual: how long the other one
waits, with the CPU-bound steps taking turns by tenant (the default) and in first-come order
(``RAGTRUST_WORK_SLOTS`` large enough never to queue, as before turns), side by side.

Run: .venv/bin/python -m bench.fair_share [--answers N] [--in-flight N ...]; reuses (or
starts) the embedded vLLM server, starts two services of its own (one per order), writes
bench/results/fair_share.json. The busy tenant's client runs in its own process at
SCHED_IDLE (``bench.abuse``); its answers are the other tenant's question, extractive with
trust off, 16 in flight by default: the most one key may have (RAGTRUST_MAX_IN_FLIGHT_PER_KEY).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.abuse import QUESTION, Hit, ask, burn, client_processes, lowest_priority, stats
from bench.clients import cpu_model
from rag.core.settings import ROOT, get_settings
from rag.stack import ensure_llm, start_service, upload_corpus

OUT = Path(__file__).parent / "results" / "fair_share.json"
FIRST_COME = "100000"  # RAGTRUST_WORK_SLOTS: more slots than requests, so nothing waits a turn


def busy_tenant(
    url: str, key: str, in_flight: int, seconds: float, start: Barrier, out: Queue[list[Hit]]
) -> None:
    """``in_flight`` answers at all times for ``seconds``, from one process."""
    lowest_priority()

    async def loop(client: httpx.AsyncClient, hits: list[Hit], until: float) -> None:
        while time.monotonic() < until:
            t0 = time.perf_counter()
            body = {"question": QUESTION, "trust_preset": "off"}
            status = (await client.post("/v1/answer", json=body)).status_code
            hits.append((status, (time.perf_counter() - t0) * 1000, time.monotonic()))

    async def main() -> list[Hit]:
        hits: list[Hit] = []
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as client:
            start.wait()
            until = time.monotonic() + seconds
            await asyncio.gather(*(loop(client, hits, until) for _ in range(in_flight)))
        return hits

    out.put(asyncio.run(main()))


def _one_order(tmp: Path, slots: str | None, answers: int, in_flight: list[int]) -> dict[str, Any]:
    llm = ensure_llm(get_settings())
    env = {"RAGTRUST_RATE_LIMIT": ""} | ({"RAGTRUST_WORK_SLOTS": slots} if slots else {})
    svc = start_service(tmp, llm.base_url, llm.model, llm_api_key=llm.api_key, **env)
    try:
        svc.wait_for()
        for tenant in ("victim", "busy"):
            upload_corpus(svc.url, svc.key(tenant), ROOT / "data" / "demo")
        user, busy = svc.key("victim", "user"), svc.key("busy", "user")
        ask(svc.url, user, 3)  # warm up
        result: dict[str, Any] = {"alone": stats(ask(svc.url, user, answers))}
        with client_processes(burn, (1 + answers * 0.5,), 1):
            time.sleep(0.5)
            result["beside_a_spinning_process"] = stats(ask(svc.url, user, answers))
        for n in in_flight:
            seconds = 3 + answers * 0.5  # outlasts the answers below
            with client_processes(busy_tenant, (svc.url, busy, n, seconds), 1) as hits:
                time.sleep(2)  # the busy tenant's queue is full
                during = ask(svc.url, user, answers)
            ok = [ms for status, ms, _ in hits if status == 200]
            result[f"busy_tenant_{n}_in_flight"] = {
                "other_tenant": stats(during),
                "busy_tenant": {**stats(ok), "answers_per_s": round(len(ok) / seconds, 1),
                                "statuses": sorted({s for s, _, _ in hits})},
            }  # fmt: skip
        return result
    finally:
        svc.stop()


def run(answers: int, in_flight: list[int], console: Console) -> dict[str, Any]:
    result: dict[str, Any] = {"cpu": cpu_model()}
    for name, slots in (("turns_by_tenant", None), ("first_come", FIRST_COME)):
        with console.status(f"{name} ..."), tempfile.TemporaryDirectory() as tmp:
            result[name] = _one_order(Path(tmp), slots, answers, in_flight)
    console.print_json(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=20)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[4, 16])
    args = parser.parse_args()
    result = run(args.answers, args.in_flight, Console())
    OUT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
