"""One tenant abusing /v1/score, another asking as usual, side by side: the abuser's ~1 MB of
e-mail addresses must be refused (4xx) within a second, and the other tenant's answers keep
their usual latency while it happens. A flood of health checks at the same concurrency is
the control: what any flood costs, whatever its bodies.

Run: .venv/bin/python -m bench.abuse [--answers N] [--abusers N]; reuses (or starts) the
embedded vLLM server, starts a service of its own, writes bench/results/abuse.json. The
abusers run in processes of their own at the lowest CPU priority (nice 19): an attacker's
client runs on its own machine, and on this 2-core one four busy clients would otherwise
take the cores from the service and measure the load generator instead of the service.
Status 0 counts a request the service refused on its headers while the client was still
sending the body (the connection closed under it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from functools import partial
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.clients import cpu_model, p95
from rag.core.settings import ROOT, get_settings
from rag.stack import ensure_llm, start_service, upload_corpus

OUT = Path(__file__).parent / "results" / "abuse.json"
BODY_LIMIT = 1_000_000  # RAGTRUST_MAX_BODY_BYTES's default
ADDRESSES = "a@b.co " * ((BODY_LIMIT - 1000) // 7)  # just under the body limit
QUESTION = "How many vacation days do full-time employees get?"
PACED_RATE = 25.0  # requests/s per abusing client in the paced arm: 100/s from four
Hit = tuple[int, float]  # status, ms


def _answers(url: str, key: str, n: int) -> list[float]:
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


def _flood(
    url: str, key: str, kind: str, rate: float, seconds: float, out: Queue[list[Hit]]
) -> None:
    """One abusing client, in a process of its own: sharing the bench's interpreter (and its
    GIL) with the other tenant's client would slow that client, not the service. ``score``
    posts the ~1 MB of addresses (encoded once, as an attacker would); ``healthz`` is the
    cheapest request there is, the control: what any flood at this rate costs. ``rate`` > 0
    paces the client to that many requests a second (0: as fast as it gets answers)."""
    os.nice(19)  # the attacker's CPU is not the service's machine's: see the module doc
    body = json.dumps({"question": "Is this right?", "answer": ADDRESSES, "trust_preset": "fast"})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    hits: list[Hit] = []
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    with httpx.Client(base_url=url, headers=headers, timeout=600) as c:
        while time.monotonic() < deadline:
            if rate:
                time.sleep(max(0.0, start + len(hits) / rate - time.monotonic()))
            t0 = time.perf_counter()
            try:
                if kind == "score":
                    status = c.post("/v1/score", content=body.encode()).status_code
                else:
                    status = c.get("/healthz").status_code
            except httpx.TransportError:  # refused on its headers, mid-upload: closed
                status = 0
            hits.append((status, (time.perf_counter() - t0) * 1000))
    out.put(hits)


def _during_flood(
    url: str, user: str, abuser: str, kind: str, rate: float, clients: int, answers: int
) -> tuple[list[float], list[Hit]]:
    """The other tenant's answers while ``clients`` processes flood, and the flood's hits."""
    spawn = multiprocessing.get_context("spawn")
    queue: Queue[list[Hit]] = spawn.Queue()
    seconds = 2 + answers * 0.5  # outlasts the answers below (~40 ms each alone)
    procs = [spawn.Process(target=_flood, args=(url, abuser, kind, rate, seconds, queue))
             for _ in range(clients)]  # fmt: skip
    for p in procs:
        p.start()
    time.sleep(1.5)  # the abusers' interpreters start and their flood is on
    during = _answers(url, user, answers)
    hits = [hit for _ in procs for hit in queue.get(timeout=seconds + 60)]
    for p in procs:
        p.join()
    return during, hits


def _stats(ms: list[float]) -> dict[str, float]:
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
            _answers(svc.url, user, 3)  # warm up
            alone = _answers(svc.url, user, answers)
            flood = partial(_during_flood, svc.url, user, abuser, clients=abusers, answers=answers)
            during, hits = flood("score", 0)
            paced, paced_hits = flood("score", PACED_RATE)
            control, pings = flood("healthz", 0)
        finally:
            svc.stop()
    statuses = sorted({s for s, _ in hits})
    result = {
        "cpu": cpu_model(),
        "body_bytes": len(json.dumps({"question": "Is this right?", "answer": ADDRESSES})),
        "abuse": {"clients": abusers, "statuses": statuses, **_stats([ms for _, ms in hits])},
        "other_tenant_alone": _stats(alone),
        "other_tenant_during_abuse": _stats(during),
        "paced_abuse": {
            "clients": abusers,
            "requests_per_s_per_client": PACED_RATE,
            "statuses": sorted({s for s, _ in paced_hits}),
            **_stats([ms for _, ms in paced_hits]),
        },  # fmt: skip
        "other_tenant_during_paced_abuse": _stats(paced),
        "control_flood": {
            "clients": abusers,
            "route": "/healthz",
            "statuses": sorted({s for s, _ in pings}),
            **_stats([ms for _, ms in pings]),
        },  # fmt: skip
        "other_tenant_during_control_flood": _stats(control),
    }
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
