"""One tenant abusing /v1/score, another asking as usual, side by side: the abuser's ~1 MB of
e-mail addresses must be refused (4xx) within a second, and the other tenant's answers keep
their usual latency while it happens.

Run: .venv/bin/python -m bench.abuse [--answers N] [--abusers N]; reuses (or starts) the
embedded vLLM server, starts a service of its own, writes bench/results/abuse.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
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


def _abuse(url: str, key: str, stop: threading.Event, out: list[tuple[int, float]]) -> None:
    body = {"question": "Is this right?", "answer": ADDRESSES, "trust_preset": "fast"}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600) as c:
        while not stop.is_set():
            t0 = time.perf_counter()
            status = c.post("/v1/score", json=body).status_code
            out.append((status, (time.perf_counter() - t0) * 1000))


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
            stop, hits = threading.Event(), list[tuple[int, float]]()
            threads = [threading.Thread(target=_abuse, args=(svc.url, abuser, stop, hits))
                       for _ in range(abusers)]  # fmt: skip
            for t in threads:
                t.start()
            time.sleep(0.5)
            during = _answers(svc.url, user, answers)
            stop.set()
            for t in threads:
                t.join()
        finally:
            svc.stop()
    statuses = sorted({s for s, _ in hits})
    result = {
        "cpu": cpu_model(),
        "body_bytes": len(json.dumps({"question": "Is this right?", "answer": ADDRESSES})),
        "abuse": {"clients": abusers, "statuses": statuses, **_stats([ms for _, ms in hits])},
        "other_tenant_alone": _stats(alone),
        "other_tenant_during_abuse": _stats(during),
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
