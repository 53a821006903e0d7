"""``ragtrust bench answer``: what the service costs on top of vLLM, measured side by side.

Four arms answer the same questions at each concurrency, in one run:

- ``vllm``: raw chat completions to vLLM with the very prompts the generative mode sends
  (built by the pipeline's own ``prepare`` step in this process, over the service's index:
  retrieval and privacy included), the same ``max_tokens``, greedy, logprobs on;
- ``off``: ``POST /v1/answer`` in generative mode with ``trust_preset: off``;
- ``generative``: generative mode with the default preset;
- ``extractive``: extractive mode (quoted units, the samples over them) with the default
  preset.

The arms alternate wave by wave (a wave = ``concurrency`` requests started together; the arm
order rotates every wave), so a burst of load from elsewhere hits all three alike. Each arm
and concurrency has its own tenant (and vLLM cache salt), so no arm reads prefix-cache entries
another arm, or an earlier concurrency, left behind. A level's answers/s is its answers over
the summed wall time of its waves (a wave waits for its slowest answer, as a batch would).

Also measured: time to the first token streamed (the service's first ``delta`` event, trust
off and default, vs vLLM's first content chunk), and cold start: the command to ``/healthz``
and to ``/readyz`` on an empty data directory, and again on restart with the run's tenants.
The service runs without a rate limit and with a 900 s LLM timeout: a queue is measured,
not refused.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.clients import TIMEOUT_S, Bench, Sample, cpu_model, p95, paired, ratio, summary
from rag import stack
from rag.core.settings import Settings
from rag.exchange import cache_salt

ARMS = ("vllm", "off", "generative", "extractive")
SERVICE_ARMS: dict[str, tuple[str | None, str]] = {
    "off": ("off", "generative"),
    "generative": (None, "generative"),
    "extractive": (None, "extractive"),
}
"""arm -> (trust preset, None = the default; answer mode)."""
TTFT_REQUESTS = 8

DEMO_QUESTIONS = (
    "How many vacation days do full-time employees get per year?",
    "What is the hotel cap in London?",
    "What is the minimum password length?",
    "Who must approve a business trip that costs more than EUR 5,000?",
    "Within how many days must expenses be submitted?",
    "On how many days per week must employees work from the office?",
    "What are the core working hours?",
    "How large is the home office equipment budget?",
    "How fast is the first response to a P1 critical ticket?",
    "How do I reset my password?",
    "After how many failed login attempts is an account locked?",
    "Up to what amount is a lost-receipt declaration accepted?",
    "How far in advance must international trips be booked?",
    "What is the IT helpdesk's phone extension?",
    "How many vacation days do employees get after 5 years of service?",
    "By when must the security awareness training be completed?",
)

# The raw-vLLM arm's own salts, apart from every tenant's the service derives.
SALT_KEY = os.urandom(32)


async def _wave(jobs: Sequence[Callable[[], Awaitable[Sample]]]) -> tuple[list[Sample], float]:
    t0 = time.perf_counter()
    samples = await asyncio.gather(*(job() for job in jobs))
    return list(samples), time.perf_counter() - t0


async def measure_level(
    bench: Bench, c: int, requests: int, questions: Sequence[str], advance: Callable[[int], None]
) -> dict[str, Any]:
    """All three arms at concurrency ``c``, wave by wave, the arm order rotating."""
    samples: dict[str, list[Sample]] = {arm: [] for arm in ARMS}
    wall = dict.fromkeys(ARMS, 0.0)
    salt = cache_salt(SALT_KEY, f"bench-vllm-c{c}")
    for w in range(math.ceil(requests / c)):
        qs = [questions[(w * c + i) % len(questions)] for i in range(c)]
        for arm in ARMS[w % len(ARMS) :] + ARMS[: w % len(ARMS)]:
            if arm == "vllm":
                jobs = [partial(bench.raw, q, salt) for q in qs]
            else:
                preset, mode = SERVICE_ARMS[arm]
                jobs = [partial(bench.answer, q, f"bench-{arm}-c{c}", preset, mode) for q in qs]
            got, seconds = await _wave(jobs)
            samples[arm] += got
            wall[arm] += seconds
            advance(c)
    out: dict[str, Any] = {arm: summary(samples[arm], wall[arm]) for arm in ARMS}
    out["ratios"] = {}
    for a, b in (("off", "vllm"), ("generative", "off"), ("extractive", "generative")):
        out["ratios"][f"{a}/{b}_paired"] = paired(samples[a], samples[b])
        for q in ("p50", "p95"):
            out["ratios"][f"{a}/{b}_{q}"] = ratio(out[a][f"{q}_s"], out[b][f"{q}_s"])
    return out


async def measure_ttft(bench: Bench, questions: Sequence[str], n: int) -> dict[str, Any]:
    """Time to the first token, streamed, one request at a time, the arm order rotating: raw
    vLLM, the service with trust off, each mode with the default preset (the generative
    samples start beside the answer; an extractive answer is sent whole before its samples)."""
    salt = cache_salt(SALT_KEY, "bench-stream-vllm")
    times: dict[str, list[float]] = {"vllm": [], "service_off": [], "service_generative": [],
                                     "service_extractive": []}  # fmt: skip
    for i in range(n):
        q = questions[i % len(questions)]
        jobs = {
            "vllm": partial(bench.raw_ttft, q, salt),
            "service_off": partial(bench.service_ttft, q, "bench-stream-off", "off", "generative"),
            "service_generative": partial(bench.service_ttft, q, "bench-stream", None,
                                          "generative"),
            "service_extractive": partial(bench.service_ttft, q, "bench-stream-x", None,
                                          "extractive"),
        }  # fmt: skip
        names = list(jobs)
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times[name].append(await jobs[name]())
    out: dict[str, Any] = {name: {"p50_ms": round(statistics.median(v) * 1000, 1),
                                  "p95_ms": round(p95(v) * 1000, 1)}
                           for name, v in times.items()}  # fmt: skip
    out["requests"] = n
    out["service_off/vllm_p50"] = ratio(out["service_off"]["p50_ms"], out["vllm"]["p50_ms"])
    return out


def run(
    settings: Settings,
    levels: Sequence[int],
    requests: int,
    corpus: Path,
    questions: Sequence[str],
    console: Console,
    note: str = "",
) -> dict[str, Any]:
    """Start (or reuse) the stack, measure every level and TTFT, restart for cold start."""
    load_start = os.getloadavg()
    llm = stack.ensure_llm(settings)
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
                   f"{cpu_model()}",
        "conditions": {"note": note, "loadavg_1_5_15_start": [round(x, 2) for x in load_start]},
        "model": llm.model, "max_answer_tokens": settings.max_answer_tokens,
        "trust_samples": settings.trust_samples, "default_preset": settings.trust_preset,
        "corpus": str(corpus), "questions": len(questions), "requests_per_arm": requests,
        "concurrency_levels": list(levels),
    }  # fmt: skip
    env = {"RAGTRUST_RATE_LIMIT": "", "RAGTRUST_LLM_TIMEOUT_S": str(TIMEOUT_S)}
    with tempfile.TemporaryDirectory(prefix="ragtrust-bench-") as tmp:
        svc = stack.start_service(
            Path(tmp), llm.base_url, llm.model, llm_api_key=llm.api_key, **env
        )
        try:
            cold = {"vllm_s": llm.start_s, "vllm_reused": llm.start_s is None}
            with console.status("starting ragtrust serve ..."):
                cold["service_healthz_s"] = svc.wait_for("/healthz")
                cold["service_readyz_s"] = svc.wait_for("/readyz")
            tenants = [f"bench-{arm}-c{c}" for c in levels for arm in ARMS[1:]]
            tenants += ["bench-stream", "bench-stream-off", "bench-stream-x"]
            bench = Bench(settings, svc, llm)
            with console.status(f"indexing {corpus} into {len(tenants)} tenants ..."):
                for t in tenants:
                    bench.tenant(t, corpus)
            result["levels"], result["ttft"] = asyncio.run(
                _measure(bench, levels, requests, questions, console, tenants[0])
            )
            svc = stack.restart(svc)
            with console.status("restarting ragtrust serve (indexes to load) ..."):
                cold["restart_healthz_s"] = svc.wait_for("/healthz")
                cold["restart_readyz_s"] = svc.wait_for("/readyz")
            cold["restart_tenants"] = len(tenants)
            result["cold_start"] = cold
        finally:
            svc.stop()
            llm.stop()
    c1, top = result["levels"][str(levels[0])], result["levels"][str(levels[-1])]
    result["scaling"] = {
        f"{arm}_answers_per_s_c{levels[-1]}/c{levels[0]}": ratio(
            top[arm]["answers_per_s"], c1[arm]["answers_per_s"])
        for arm in ("generative", "extractive")
    }  # fmt: skip
    # The extractive default against the generative pipeline it replaced, at the same load.
    result["scaling"][f"extractive/generative_answers_per_s_c{levels[-1]}"] = ratio(
        top["extractive"]["answers_per_s"], top["generative"]["answers_per_s"])  # fmt: skip
    result["conditions"]["loadavg_1_5_15_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


async def _measure(
    bench: Bench, levels: Sequence[int], requests: int, questions: Sequence[str],
    console: Console, prompt_tenant: str,
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    with console.status("building the prompts (the pipeline's prepare step) ..."):
        await bench.build_prompts(prompt_tenant, questions)
    total = sum(math.ceil(requests / c) * c for c in levels) * len(ARMS)
    out: dict[str, Any] = {}
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"answers ({len(ARMS)} arms, waves alternating)", total=total)
            for c in levels:
                progress.update(task, description=f"concurrency {c}")
                out[str(c)] = await measure_level(
                    bench, c, requests, questions, lambda n: progress.advance(task, n)
                )
            progress.update(task, description="time to first token")
            ttft = await measure_ttft(bench, questions, TTFT_REQUESTS)
    finally:
        await bench.aclose()
    return out, ttft


def table(result: dict[str, Any]) -> Table:
    t = Table(title="ragtrust bench answer (latency s, answers/s; ratios to the arm above)")
    for col in ("conc.", "arm", "p50", "p95", "answers/s", "errors", "tokens", "p50 ratio",
                "paired ratio"):  # fmt: skip
        t.add_column(col, justify="right")
    for c, row in result["levels"].items():
        base = {"off": "off/vllm", "generative": "generative/off",
                "extractive": "extractive/generative"}  # fmt: skip
        for arm in ARMS:
            r, key = row[arm], base.get(arm)
            ratios = [str(row["ratios"][f"{key}_{k}"]) if key else "" for k in ("p50", "paired")]
            t.add_row(c, arm, str(r["p50_s"]), str(r["p95_s"]), str(r["answers_per_s"]),
                      str(r["errors"]), str(r["completion_tokens_mean"]), *ratios)  # fmt: skip
    ttft, cold = result["ttft"], result["cold_start"]
    firsts = ", ".join(f"{k} {v['p50_ms']} ms" for k, v in ttft.items() if isinstance(v, dict))
    t.caption = (
        f"TTFT p50: {firsts}. Command to /readyz: {cold['service_readyz_s']} s (empty), "
        f"{cold['restart_readyz_s']} s (restart, {cold['restart_tenants']} tenants). "
        f"Scaling: {result['scaling']}"
    )
    return t
