"""Stopping the service (SIGTERM, as systemd and Kubernetes do) loses no audit record: the
records of streams whose client went away are written in the background, rate-limit refusals
are counted before they are written, and shutdown writes and waits for both."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.support import DEMO, LLMEndpoint, start_service

pytestmark = pytest.mark.integration

QUESTION = "Describe every rule of the travel policy and of the vacation policy in detail."


def _records(db: Path, code: str) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT request_id, requests FROM audit_records WHERE error_code = ?", (code,)
        ).fetchall()
    return {r[0]: r[1] for r in rows}


def test_sigterm_right_after_clients_leave_keeps_their_records(
    llm: LLMEndpoint, tmp_path: Path
) -> None:
    svc, proc = start_service(tmp_path, llm.base_url, llm.model, RAGTRUST_RATE_LIMIT="3/minute")
    try:
        for args in (("tenants", "create", "demo"), ("ingest", str(DEMO), "--tenant", "demo")):
            assert svc.cli(*args).returncode == 0
        body = {"question": QUESTION, "stream": True, "trust_preset": "off"}
        left = []
        with svc.client() as client:
            for _ in range(3):
                with client.stream("POST", "/v1/answer", json=body) as resp:
                    assert resp.status_code == 200
                    left.append(resp.headers["x-request-id"])
                    next(resp.iter_bytes())  # the first event, then the client goes away
        with svc.client(role="user") as client:  # refusals counted for a minute, not written
            codes = [client.get("/v1/models").status_code for _ in range(10)]
        assert codes.count(429) == 7
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal (exit -15), as it should.
        assert proc.wait(60) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in svc.log()
        db = svc.data_dir / "ragtrust.db"
        assert set(left) <= set(_records(db, "client_closed_request"))
        assert list(_records(db, "rate_limit_exceeded").values()) == [7]
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{svc.url}/healthz", timeout=2)
