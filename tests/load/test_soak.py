"""Soak: many clients at once against the real stack on loopback, mixed routes, for minutes.

Not part of ``make test`` (marker ``load``); ``make load-test`` runs it. Defaults are the
issue's: 50 clients for 120 s. A short local run: ``RAGTRUST_SOAK_CLIENTS=10
RAGTRUST_SOAK_SECONDS=20 RAGTRUST_SOAK_OUT=/tmp/load.json make load-test``.

Each client has its own user key (the default rate limit applies per key) and one of two
tenants, and picks routes at random: answers with trust off and fast, streamed chat, document
lists, trust scores of a given answer. A 429 or 503 (and a streamed ``llm_*`` error event) is
load shed, counted apart; anything else that is not a 2xx, a broken connection or stream, or
a 5xx other than 503 fails the run. The service process's RSS is read from /proc after a
warm-up, every 2 s during the run, and after it. Results go to bench/results/load.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.answer import DEMO_QUESTIONS
from bench.clients import cpu_model, p95
from rag import stack
from tests.load.conftest import SOAK_TENANTS

pytestmark = [pytest.mark.load, pytest.mark.integration]

CLIENTS = int(os.environ.get("RAGTRUST_SOAK_CLIENTS", "50"))
SECONDS = float(os.environ.get("RAGTRUST_SOAK_SECONDS", "120"))
OUT = Path(os.environ.get("RAGTRUST_SOAK_OUT", "bench/results/load.json"))
# End RSS may exceed the post-warm-up RSS by this share at most.
MAX_RSS_GROWTH = float(os.environ.get("RAGTRUST_SOAK_MAX_RSS_GROWTH", "0.25"))

ROUTES = {"answer_off": 2, "answer_fast": 2, "chat_stream": 2, "documents": 3, "score": 3}
ANSWER_ROUTES = ("answer_off", "answer_fast", "chat_stream")
SHED = {"429", "503", "stream_error:llm_timeout", "stream_error:llm_unavailable"}
SCORE_CONTEXT = ["Full-time employees working 5 days per week receive 30 vacation days."]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    answers_2xx: Counter[str] = field(default_factory=Counter)  # per tenant
    sent: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def record(
        self, route: str, tenant: str, outcome: str, seconds: float, request_id: str | None
    ) -> None:
        self.latencies[route].append(seconds)
        self.outcomes[route][outcome] += 1
        if outcome == "200" and route in ANSWER_ROUTES:
            self.answers_2xx[tenant] += 1
        if request_id:  # every response carries one; its audit record must exist
            self.sent[tenant][request_id] = outcome

    def failures(self) -> dict[str, int]:
        bad: Counter[str] = Counter()
        for route, counts in self.outcomes.items():
            bad.update(
                {f"{route} {o}": n for o, n in counts.items() if o != "200" and o not in SHED}
            )
        return dict(bad)


async def call(http: httpx.AsyncClient, route: str, question: str) -> str:
    """One request; its outcome: the HTTP status, or what went wrong in a 200 stream."""
    if route == "documents":
        resp = await http.get("/v1/documents")
        return _checked(resp, lambda b: len(b["documents"]) == 6)
    if route == "score":
        body = {"question": question, "answer": "30 days.", "context": SCORE_CONTEXT,
                "trust_preset": "fast"}  # fmt: skip
        return _checked(await http.post("/v1/score", json=body), lambda b: "trust" in b)
    if route != "chat_stream":
        preset = route.removeprefix("answer_")
        resp = await http.post("/v1/answer", json={"question": question, "trust_preset": preset})
        return _checked(resp, lambda b: bool(b["answer"]) and b["trust"]["preset"] == preset)
    body = {"model": "ragtrust", "stream": True, "ragtrust": {"trust_preset": "fast"},
            "messages": [{"role": "user", "content": question}]}  # fmt: skip
    async with http.stream("POST", "/v1/chat/completions", json=body) as resp:
        if resp.status_code != 200:
            await resp.aread()
            return str(resp.status_code)
        async for line in resp.aiter_lines():
            if line == "data: [DONE]":
                return "200"
            if line.startswith("data: ") and "error" in (data := json.loads(line[6:])):
                return f"stream_error:{data['error']['code']}"
    return "stream_incomplete"


def _checked(resp: httpx.Response, valid: Any) -> str:
    if resp.status_code == 200 and not valid(resp.json()):
        return "200_bad_body"
    if resp.status_code >= 400 and "error" not in resp.json():
        return f"{resp.status_code}_not_the_envelope"
    return str(resp.status_code)


async def client(
    svc: stack.ServiceProcess, key: str, tenant: str, seed: int, until: float, tally: Tally
) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {key}"}
    last: dict[str, str] = {}  # the request id of this client's latest response

    async def keep_id(resp: httpx.Response) -> None:
        last["id"] = resp.headers.get("x-request-id", "")

    async with httpx.AsyncClient(base_url=svc.url, headers=headers, timeout=300,
                                 event_hooks={"response": [keep_id]}) as http:  # fmt: skip
        while time.monotonic() < until:
            route = rng.choices(list(ROUTES), weights=list(ROUTES.values()))[0]
            t0 = time.perf_counter()
            try:
                outcome = await call(http, route, rng.choice(DEMO_QUESTIONS))
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                outcome = f"transport:{type(exc).__name__}"
            tally.record(route, tenant, outcome, time.perf_counter() - t0, last.pop("id", None))


async def sample_rss(svc: stack.ServiceProcess, into: list[float]) -> None:
    while True:
        into.append(svc.rss_mb())
        await asyncio.sleep(2)


def percentiles(xs: list[float]) -> dict[str, float]:
    ordered = sorted(xs)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(p95(ordered) * 1000, 1), "p99_ms": round(p99 * 1000, 1)}  # fmt: skip


# ---- AUDIT CHECK (issue 8: "0 lost audit records") ---------------------------------------
# Every authenticated request leaves exactly one audit record, failed ones too. Each response
# this test received (warm-up included) is looked up by its x-request-id in its tenant's
# export (auditor key): none may be missing or doubled, and a record is "ok" exactly when the
# client saw a success (a 200 stream that ended in an error event is an "error" record).
def audit_check(svc: stack.ServiceProcess, sent: dict[str, dict[str, str]]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for tenant, requests in sent.items():
        auth = {"Authorization": f"Bearer {svc.key(tenant, 'auditor')}"}
        resp = httpx.get(f"{svc.url}/v1/audit/export", headers=auth, timeout=300)
        resp.raise_for_status()
        lines = [json.loads(line) for line in resp.text.splitlines() if line.strip()]
        records = [r for r in lines if "_seal" not in r]  # the last line seals the export
        ids = Counter(r["request_id"] for r in records)
        ok = {r["request_id"] for r in records if r["status"] == "ok"}
        report[tenant] = {
            "sent": len(requests), "records": len(records),
            "lost": sum(1 for rid in requests if rid not in ids),
            "duplicated": sum(1 for rid in requests if ids[rid] > 1),
            "status_mismatch": sum(1 for rid, o in requests.items()
                                   if rid in ids and (rid in ok) != (o == "200")),
        }  # fmt: skip
    return report


async def test_clients_in_parallel_get_no_errors_and_memory_stays_flat(
    soak_service: stack.ServiceProcess,
) -> None:
    svc = soak_service
    keys = {t: svc.keys(t, "user", CLIENTS // len(SOAK_TENANTS) + 1) for t in SOAK_TENANTS}
    warmup = Tally()  # first calls load lazily built state; RSS counts from after them
    await asyncio.gather(*(client(svc, keys[t][-1], t, i, time.monotonic() + 15, warmup)
                           for i, t in enumerate(SOAK_TENANTS)))  # fmt: skip
    rss: list[float] = [svc.rss_mb()]
    sampler = asyncio.create_task(sample_rss(svc, rss))
    tally, load0, t0 = Tally(), os.getloadavg(), time.monotonic()
    n = len(SOAK_TENANTS)
    seats = [(keys[SOAK_TENANTS[i % n]][i // n], SOAK_TENANTS[i % n]) for i in range(CLIENTS)]
    await asyncio.gather(*(client(svc, key, tenant, 100 + i, t0 + SECONDS, tally)
                           for i, (key, tenant) in enumerate(seats)))  # fmt: skip
    wall = time.monotonic() - t0
    sampler.cancel()
    await asyncio.sleep(2)
    rss_end = svc.rss_mb()
    everything = [s for xs in tally.latencies.values() for s in xs]
    outcomes = sum(tally.outcomes.values(), Counter())
    result = {
        "machine": f"{len(os.sched_getaffinity(0))} cores, {cpu_model()}",
        "conditions": {"loadavg_1_5_15_start": [round(x, 2) for x in load0],
                       "loadavg_1_5_15_end": [round(x, 2) for x in os.getloadavg()],
                       "note": os.environ.get("RAGTRUST_SOAK_NOTE", "")},
        "clients": CLIENTS, "seconds": SECONDS, "wall_s": round(wall, 1),
        "max_answer_tokens": int(svc.env["RAGTRUST_MAX_ANSWER_TOKENS"]),
        "llm_timeout_s": float(svc.env["RAGTRUST_LLM_TIMEOUT_S"]),
        "requests": len(everything), "requests_per_s": round(len(everything) / wall, 2),
        "latency": percentiles(everything), "outcomes": dict(outcomes),
        "shed": {o: n for o, n in outcomes.items() if o in SHED},
        "failures": tally.failures(),
        "by_route": {r: {"requests": len(v), **percentiles(v), "outcomes": dict(tally.outcomes[r])}
                     for r, v in tally.latencies.items()},
        "rss_mb": {"start": rss[0], "end": rss_end, "peak": max(rss + [rss_end])},
        "answers_2xx_by_tenant": dict(tally.answers_2xx + warmup.answers_2xx),
        "audit": audit_check(svc, {t: {**warmup.sent[t], **tally.sent[t]} for t in SOAK_TENANTS}),
    }  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    assert not result["failures"] and not warmup.failures(), (result["failures"], warmup)
    assert all(tally.outcomes[r]["200"] for r in ROUTES), result["by_route"]
    assert rss_end <= rss[0] * (1 + MAX_RSS_GROWTH), result["rss_mb"]
    bad_audit = {t: a for t, a in result["audit"].items()
                 if a["lost"] or a["duplicated"] or a["status_mismatch"]}  # fmt: skip
    assert not bad_audit, bad_audit
