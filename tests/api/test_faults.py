"""Faults the service must ride out, injected for real: the LLM server breaking off a streamed
answer, refusing connections, answering too slowly (a proxy in front of the real vLLM); the
service killed with SIGKILL in the middle of a large ingestion; the disk filling up while an
index is written."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.stack import free_port
from tests.fault_proxy import FaultProxy
from tests.support import DEMO, LLMEndpoint, Service, start_service

pytestmark = pytest.mark.integration

QUESTION = "How many vacation days do full-time employees get?"
CHEAP = {"question": QUESTION, "trust_preset": "off"}


@pytest.fixture(scope="module")
def proxy(llm: LLMEndpoint) -> Iterator[FaultProxy]:
    p = FaultProxy(llm.base_url.removesuffix("/v1"), free_port()).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def faulty(service_factory: Callable[..., Service], llm: LLMEndpoint, proxy: FaultProxy) -> Service:
    svc = service_factory("faulty", proxy.base_url, llm.model,
                          RAGTRUST_LLM_TIMEOUT_S="20", RAGTRUST_RATE_LIMIT="")  # fmt: skip
    for args in (("tenants", "create", "demo"), ("ingest", str(DEMO), "--tenant", "demo")):
        assert svc.cli(*args).returncode == 0
    return svc


def _audit(svc: Service, request_id: str) -> tuple[Any, ...]:
    with sqlite3.connect(svc.data_dir / "ragtrust.db") as db:
        row = db.execute(
            "SELECT status, http_status, error_code FROM audit_records WHERE request_id = ?",
            (request_id,),
        ).fetchone()
    assert row is not None, f"no audit record for {request_id}"
    return tuple(row)


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_llm_dying_mid_stream_ends_with_an_error_event_and_is_audited(
    faulty: Service, proxy: FaultProxy
) -> None:
    proxy.mode, cuts = "cut", proxy.cuts
    try:
        with (
            faulty.client(role="user") as c,
            c.stream("POST", "/v1/answer", json={"question": QUESTION, "stream": True}) as resp,
        ):
            body = resp.read().decode()
            rid = resp.headers["x-request-id"]
    finally:
        proxy.mode = "pass"
    assert resp.status_code == 200 and proxy.cuts > cuts
    kind, data = _events(body)[-1]
    assert kind == "error" and data["error"]["code"] == "llm_unavailable"
    assert "Traceback" not in body
    # The LLM server's internal address is for the operator's log, not for callers.
    assert proxy.base_url not in body and str(proxy.port) not in body
    assert _audit(faulty, rid) == ("error", 503, "llm_unavailable")
    with faulty.client(role="user") as c:  # back without a restart
        assert c.post("/v1/answer", json=CHEAP).status_code == 200


def test_llm_down_is_a_503_with_retry_after_until_it_is_back(
    faulty: Service, proxy: FaultProxy
) -> None:
    proxy.stop()
    try:
        with faulty.client(role="user") as c:
            resp = c.post("/v1/answer", json=CHEAP)
            ready = c.get("/readyz")
    finally:
        proxy.start()
    assert resp.status_code == 503 and int(resp.headers["retry-after"]) > 0
    assert resp.json()["error"]["code"] == "llm_unavailable"
    assert str(proxy.port) not in resp.text and str(proxy.port) not in ready.text
    assert proxy.base_url in faulty.log_path.read_text()
    assert ready.status_code == 503 and ready.json()["checks"]["llm"] == "down"
    assert _audit(faulty, resp.headers["x-request-id"]) == ("error", 503, "llm_unavailable")
    with faulty.client(role="user") as c:
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/answer", json=CHEAP).status_code == 200


def test_a_slow_llm_is_cut_off_at_the_timeout(faulty: Service, proxy: FaultProxy) -> None:
    proxy.mode, proxy.delay_s = "slow", 45.0
    try:
        with faulty.client(role="user") as c:
            t0 = time.monotonic()
            resp = c.post("/v1/answer", json=CHEAP)
            took = time.monotonic() - t0
    finally:
        proxy.mode = "pass"
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "llm_timeout"
    assert took < 40, f"the 20 s timeout was not honoured ({took:.1f} s)"


def _documents(n: int, words: int = 400) -> list[dict[str, str]]:
    text = " ".join(f"word{i % 97} policy clause" for i in range(words))
    return [{"id": f"bulk-{i}", "text": f"Bulk document {i}. {text}"} for i in range(n)]


def test_sigkill_during_ingestion_keeps_the_last_complete_index(
    tmp_path: Path, llm: LLMEndpoint
) -> None:
    data = tmp_path / "killed"
    svc, proc = start_service(data, llm.base_url, llm.model, RAGTRUST_RATE_LIMIT="")
    try:
        assert svc.cli("tenants", "create", "demo").returncode == 0
        with svc.client() as c:
            first = c.post("/v1/documents", json={"documents": _documents(3, 50)})
        assert first.status_code == 200 and first.json()["indexed"] == 3  # acknowledged

        def big_ingest() -> None:
            with svc.client() as c, pytest.raises(httpx.HTTPError):
                c.post("/v1/documents", json={"documents": _documents(400)}, timeout=600)

        worker = threading.Thread(target=big_ingest)
        worker.start()
        time.sleep(6)  # embedding 400 documents takes minutes here
        proc.kill()  # SIGKILL: no shutdown handler runs
        worker.join(30)
    finally:
        proc.kill()
        proc.wait(30)
    svc2, proc2 = start_service(data, llm.base_url, llm.model)
    try:
        with svc2.client(role="user") as c:
            ids = {d["id"] for d in c.get("/v1/documents").json()["documents"]}
            answer = c.post("/v1/answer", json={"question": "What is bulk document 1 about?",
                                                "mode": "bm25", "trust_preset": "off"})  # fmt: skip
    finally:
        proc2.terminate()
        proc2.wait(30)
    assert {"bulk-0", "bulk-1", "bulk-2"} <= ids  # nothing acknowledged is lost
    assert len(ids) in (3, 400)  # and the interrupted batch is all or nothing
    assert answer.status_code == 200 and answer.json()["citations"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs: a real ENOSPC when it fills up."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_is_a_clean_error_and_the_old_index_stays(
    tiny_disk: Path, llm: LLMEndpoint
) -> None:
    svc, proc = start_service(tiny_disk / "data", llm.base_url, llm.model, RAGTRUST_RATE_LIMIT="")
    filler = tiny_disk / "filler"
    try:
        assert svc.cli("tenants", "create", "demo").returncode == 0
        with svc.client() as c:
            assert c.post("/v1/documents", json={"documents": _documents(2, 50)}).status_code == 200
            with filler.open("wb") as f:  # leave ~64 KB free
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            filler.write_bytes(filler.read_bytes()[: -2 * 65536])
            full = c.post("/v1/documents", json={"documents": _documents(40)})
            filler.unlink()
            ids = {d["id"] for d in c.get("/v1/documents").json()["documents"]}
    finally:
        proc.terminate()
        proc.wait(30)
    assert full.status_code == 507, full.text
    assert full.json()["error"]["code"] == "insufficient_storage"
    assert ids == {"bulk-0", "bulk-1"}
    assert not list((tiny_disk / "data" / "indexes" / "demo").glob(".tmp-*"))


def test_database_down_is_a_503_and_the_service_recovers(tmp_path: Path, llm: LLMEndpoint) -> None:
    from tests.audit import pgcluster

    if pgcluster.binaries() is None:
        pytest.skip("PostgreSQL is not installed (`make test` installs it)")
    cluster = pgcluster.start()
    assert cluster.pg_ctl is not None and cluster.root is not None
    port = cluster.url.rsplit(":", 1)[1].split("/")[0]
    db_url = cluster.create_database()
    svc, proc = start_service(tmp_path / "pg", llm.base_url, llm.model,
                              RAGTRUST_DATABASE_URL=db_url, RAGTRUST_RATE_LIMIT="")  # fmt: skip
    try:
        assert svc.cli("tenants", "create", "demo").returncode == 0
        key = svc.cli("keys", "create", "--tenant", "demo", "--role", "user", "-q").stdout.strip()
        with httpx.Client(base_url=svc.url, headers={"Authorization": f"Bearer {key}"},
                          timeout=120) as c:  # fmt: skip
            assert c.post("/v1/answer", json=CHEAP).status_code == 200
            subprocess.run([*cluster.pg_ctl, "stop", "-m", "fast"], check=True,
                           capture_output=True)  # fmt: skip
            down = c.post("/v1/answer", json=CHEAP)
            ready = c.get("/readyz")
            options = f"-p {port} -k {cluster.root} -c listen_addresses=127.0.0.1"
            subprocess.run([*cluster.pg_ctl, "-w", "-o", options, "start"], check=True,
                           capture_output=True)  # fmt: skip
            back = c.post("/v1/answer", json=CHEAP)
    finally:
        proc.terminate()
        proc.wait(30)
        cluster.stop()
    assert down.status_code == 503, down.text
    assert down.json()["error"]["code"] == "database_unavailable"
    assert int(down.headers["retry-after"]) > 0
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "down"
    assert back.status_code == 200
