"""One tenant abusing /v1/score, another asking as usual, side by side: the abuser's ~1 MB of
e-mail addresses must be refused (4xx) within a second, and the other tenant's answers keep
their usual latency while it happens. A flood of health checks at the same concurrency is
the control: what any flood costs, whatever its bodies.

Run: .venv/bin/python -m bench.abuse [--answers N] [--abusers N]; reuses (or starts) the
embedded vLLM server, starts a service of its own, writes bench/results/abuse.json. The
abusers run in processes of their own at the lowest CPU priority there is (SCHED_IDLE): an
attacker's client runs on its own machine. On a 2-core machine they still take the second
core the service's answer would have used, so a third control arm runs the same processes
spinning without sending anything: what the load generator costs the other tenant by being
here. What the flood costs the service itself is its CPU time per flood request, read from
/proc in a window with no other tenant's answers. Status 0 counts a request the service
refused on its headers while the client was still sending the body (the connection closed
under it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.clients import cpu_model, p95
from rag import stack
from rag.core.settings import ROOT, get_settings
from rag.stack import ensure_llm, start_service, upload_corpus

OUT = Path(__file__).parent / "results" / "abuse.json"
BODY_LIMIT = 1_000_000  # RAGTRUST_MAX_BODY_BYTES's default
ADDRESSES = "a@b.co " * ((BODY_LIMIT - 1000) // 7)  # just under the body limit
QUESTION = "How many vacation days do full-time employees get?"
COST_WINDOW_S = 4.0  # flood alone, to read the service's CPU time per flood request
PACED_RATE = 25.0  # requests/s per abusing client in the paced arm: 100/s from four
Hit = tuple[int, float, float]  # status, ms, time.monotonic() at its end


def ask(url: str, key: str, n: int) -> list[float]:
    """``n`` answers in a row (extractive, trust off: retrieval, PII, selection), in ms."""
    times = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
        for _ in range(n):
            t0 = time.perf_counter()
            c.post(
                "/v1/answer", json={"question": QUESTION, "trust_preset": "off"}
            ).raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
    return times


def lowest_priority() -> None:
    """SCHED_IDLE: the process runs only when no normal one wants the CPU (nice 19 where the
    policy does not exist). The attacker's CPU is not the service's machine's."""
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)


def _service_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process, all its threads (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def burn(seconds: float, start: Barrier, out: Queue[list[Hit]]) -> None:
    """The control for the load generator: as busy as a client can be, sending nothing."""
    lowest_priority()
    start.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass
    out.put([])


def _flood(
    url: str, key: str, kind: str, rate: float, seconds: float, start: Barrier,
    out: Queue[list[Hit]],
) -> None:  # fmt: skip
    """One abusing client, in a process of its own: sharing the bench's interpreter (and its
    GIL) with the other tenant's client would slow that client, not the service. ``score``
    posts the ~1 MB of addresses (encoded once, as an attacker would); ``healthz`` is the
    cheapest request there is, the control: what any flood at this rate costs. ``rate`` > 0
    paces the client to that many requests a second (0: as fast as it gets answers)."""
    lowest_priority()
    body = json.dumps({"question": "Is this right?", "answer": ADDRESSES, "trust_preset": "fast"})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    hits: list[Hit] = []
    with httpx.Client(base_url=url, headers=headers, timeout=600) as c:
        start.wait()
        began = time.monotonic()
        while time.monotonic() < began + seconds:
            if rate:
                time.sleep(max(0.0, began + len(hits) / rate - time.monotonic()))
            t0 = time.perf_counter()
            try:
                if kind == "score":
                    status = c.post("/v1/score", content=body.encode()).status_code
                else:
                    status = c.get("/healthz").status_code
            except httpx.TransportError:  # refused on its headers, mid-upload: closed
                status = 0
            hits.append((status, (time.perf_counter() - t0) * 1000, time.monotonic()))
    out.put(hits)


def _during_flood(
    url: str, user: str, abuser: str, kind: str, rate: float, clients: int, answers: int
) -> tuple[list[float], list[Hit]]:
    """The other tenant's answers while ``clients`` processes flood (``kind`` "burn": spin),
    and the flood's hits."""
    seconds = 1 + answers * 0.5  # outlasts the answers below (~40-100 ms each)
    args = (seconds,) if kind == "burn" else (url, abuser, kind, rate, seconds)
    with client_processes(burn if kind == "burn" else _flood, args, clients) as hits:
        time.sleep(0.5)  # the flood is on
        during = ask(url, user, answers)
    return during, hits


def _service_cost(
    svc: stack.ServiceProcess, abuser: str, kind: str, rate: float, clients: int
) -> dict[str, float]:
    """The flood alone for a few seconds: the service's CPU milliseconds per flood request,
    and the requests a second it took."""
    pid = svc.proc.pid
    flood = (svc.url, abuser, kind, rate, COST_WINDOW_S + 1)
    with client_processes(_flood, flood, clients) as hits:
        time.sleep(0.5)  # the window opens with the flood on
        cpu0, t0 = _service_cpu_s(pid), time.monotonic()
        time.sleep(COST_WINDOW_S)
        cpu, t1 = _service_cpu_s(pid) - cpu0, time.monotonic()
    served = sum(t0 <= end <= t1 for _, _, end in hits)
    return {"service_cpu_ms_per_request": round(1000 * cpu / served, 2),
            "requests_per_s": round(served / (t1 - t0))}  # fmt: skip


@contextlib.contextmanager
def client_processes(
    target: Callable[..., None], args: tuple[Any, ...], n: int
) -> Iterator[list[Hit]]:
    """``n`` processes running ``target(*args, start, queue)``, entered once all of them have
    started (an interpreter takes seconds to import this module here); their hits, filled in
    on exit."""
    spawn = multiprocessing.get_context("spawn")
    queue: Queue[list[Hit]] = spawn.Queue()
    start = spawn.Barrier(n + 1)
    procs = [spawn.Process(target=target, args=(*args, start, queue)) for _ in range(n)]
    for p in procs:
        p.start()
    start.wait(timeout=120)
    hits: list[Hit] = []
    yield hits
    hits.extend(hit for _ in procs for hit in queue.get(timeout=600))
    for p in procs:
        p.join()


def stats(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(p95(ms), 1), "max_ms": round(max(ms), 1)}  # fmt: skip


def run(answers: int, abusers: int, console: Console) -> dict[str, Any]:
    llm = ensure_llm(get_settings())
    with tempfile.TemporaryDirectory() as tmp:
        svc = start_service(
            Path(tmp), llm.base_url, llm.model, llm_api_key=llm.api_key, RAGTRUST_RATE_LIMIT=""
        )
        try:
            svc.wait_for()
            upload_corpus(svc.url, svc.key("victim"), ROOT / "data" / "demo")
            user, abuser = svc.key("victim", "user"), svc.key("abuser", "user")
            ask(svc.url, user, 3)  # warm up
            alone = ask(svc.url, user, answers)
            flood = partial(_during_flood, svc.url, user, abuser, clients=abusers, answers=answers)
            burned, _ = flood("burn", 0)
            during, hits = flood("score", 0)
            paced, paced_hits = flood("score", PACED_RATE)
            control, pings = flood("healthz", 0)
            cost = partial(_service_cost, svc, abuser, clients=abusers)
            costs = {"abuse": cost("score", 0), "paced_abuse": cost("score", PACED_RATE),
                     "control_flood": cost("healthz", 0)}  # fmt: skip
        finally:
            svc.stop()
    statuses = sorted({s for s, _, _ in hits})
    result: dict[str, Any] = {
        "cpu": cpu_model(),
        "body_bytes": len(json.dumps({"question": "Is this right?", "answer": ADDRESSES})),
        "abuse": {"clients": abusers, "statuses": statuses, **stats([ms for _, ms, _ in hits])},
        "other_tenant_alone": stats(alone),
        "other_tenant_during_cpu_burn": stats(burned),
        "other_tenant_during_abuse": stats(during),
        "paced_abuse": {
            "clients": abusers,
            "requests_per_s_per_client": PACED_RATE,
            "statuses": sorted({s for s, _, _ in paced_hits}),
            **stats([ms for _, ms, _ in paced_hits]),
        },  # fmt: skip
        "other_tenant_during_paced_abuse": stats(paced),
        "control_flood": {
            "clients": abusers,
            "route": "/healthz",
            "statuses": sorted({s for s, _, _ in pings}),
            **stats([ms for _, ms, _ in pings]),
        },  # fmt: skip
        "other_tenant_during_control_flood": stats(control),
    }
    for arm, measured in costs.items():
        result[arm].update(measured)
    console.print_json(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=20)
    parser.add_argument("--abusers", type=int, default=4)
    args = parser.parse_args()
    result = run(args.answers, args.abusers, Console())
    OUT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
