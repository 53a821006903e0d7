"""The real stack, started for a benchmark or a load test: vLLM (the one already serving on
the embedded port is reused, never duplicated) and ``ragtrust serve`` as a subprocess in a
data directory of its own, so a run never touches ``data/`` and can be thrown away.

A subprocess rather than an in-process app: what is measured is what a client gets over
loopback (uvicorn, middleware, JSON), and the process's own RSS can be read from /proc.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from rag.core.settings import ROOT, Settings
from rag.db import make_engine
from rag.keys import KeyStore
from rag.llm import server as llm_server
from rag.runtime import build_tenants

RAGTRUST = Path(sys.executable).parent / "ragtrust"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LLM:
    base_url: str
    model: str
    start_s: float | None  # None: an already running server was reused
    server: llm_server.EmbeddedServer

    @property
    def api_key(self) -> str:
        return self.server.api_key

    def stop(self) -> None:
        self.server.stop()  # a reused server is not ours and is left running


def ensure_llm(settings: Settings) -> LLM:
    """The embedded vLLM server: reused when it already serves the model, else started (and
    how long that took)."""
    t0 = time.perf_counter()
    server = llm_server.start(settings)
    started = None if server.process is None else round(time.perf_counter() - t0, 1)
    return LLM(server.base_url, server.model, started, server)


@dataclass
class ServiceProcess:
    url: str
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log_path: Path
    started_at: float  # perf_counter() when the command was run

    @property
    def settings(self) -> Settings:
        """The settings the service runs with (its environment), for in-process helpers."""
        overrides = {k[len("RAGTRUST_") :].lower(): v for k, v in self.env.items()
                     if k.startswith("RAGTRUST_") and os.environ.get(k) != v}  # fmt: skip
        return Settings(**overrides)  # type: ignore[arg-type]

    def wait_for(self, path: str = "/readyz", timeout_s: float = 300) -> float:
        """Block until ``path`` answers 200; seconds from the command to then."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ragtrust serve exited:\n{self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=5).status_code == 200:
                    return round(time.perf_counter() - self.started_at, 2)
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no 200 from {path} in {timeout_s:.0f} s:\n{self.log()[-3000:]}")

    def rss_mb(self) -> float:
        """Resident memory of the service process (uvicorn runs the app in it)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        raise RuntimeError("no VmRSS in /proc status")

    def key(self, tenant: str, role: str = "admin") -> str:
        """Create the tenant if needed and issue a key, in the service's own database."""
        return self.keys(tenant, role, 1)[0]

    def keys(self, tenant: str, role: str, n: int) -> list[str]:
        settings = self.settings
        engine = make_engine(settings.db_url)
        build_tenants(settings, engine).create(tenant, exist_ok=True)
        store = KeyStore(engine)
        return [store.create(tenant, role, "bench").secret for _ in range(n)]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_service(
    data_dir: Path, llm_base_url: str, llm_model: str, *, llm_api_key: str | None = None,
    **env: str,
) -> ServiceProcess:  # fmt: skip
    """``ragtrust serve`` on a free loopback port, on that vLLM endpoint (its key, else the
    one in this process's environment), with ``env`` (RAGTRUST_* names) added; returns at
    once (``wait_for`` blocks)."""
    port = free_port()
    full_env = {
        **os.environ,
        "RAGTRUST_DATA_DIR": str(data_dir),
        "RAGTRUST_LLM_BASE_URL": llm_base_url,
        "RAGTRUST_LLM_MODEL": llm_model,
        **({"RAGTRUST_LLM_API_KEY": llm_api_key} if llm_api_key is not None else {}),
        "RAGTRUST_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "service.log"
    started = time.perf_counter()
    with log_path.open("ab") as log:
        cmd = [str(RAGTRUST), "serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    return ServiceProcess(f"http://127.0.0.1:{port}", data_dir, full_env, proc, log_path, started)


def restart(svc: ServiceProcess) -> ServiceProcess:
    """Stop the service and run it again on the same data directory and port settings."""
    svc.stop()
    started = time.perf_counter()
    with svc.log_path.open("ab") as log:
        proc = subprocess.Popen(svc.proc.args, cwd=ROOT, env=svc.env, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
    return ServiceProcess(svc.url, svc.data_dir, svc.env, proc, svc.log_path, started)


def upload_corpus(url: str, admin_key: str, corpus: Path, timeout_s: float = 600) -> int:
    """Index every file under ``corpus`` through ``POST /v1/documents`` (multipart, as a
    client would); returns the number of chunks."""
    files = [p for p in sorted(corpus.rglob("*")) if p.is_file()] if corpus.is_dir() else [corpus]
    parts = [("files", (str(p.relative_to(corpus) if corpus.is_dir() else p.name),
                        p.read_bytes())) for p in files]  # fmt: skip
    resp = httpx.post(f"{url}/v1/documents", files=parts, timeout=timeout_s,
                      headers={"Authorization": f"Bearer {admin_key}"})  # fmt: skip
    resp.raise_for_status()
    body = resp.json()
    if body["failed"]:
        raise RuntimeError(f"{body['failed']} documents of {corpus} failed to index")
    return int(body["chunks"])
