"""Session fixtures that start the real components once: the vLLM server, and ragtrust's HTTP
service as a real uvicorn process on a free loopback port with its own data directory."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from rag import stack
from rag.core.settings import ROOT, Settings
from rag.db import make_engine
from rag.keys import KeyStore
from rag.llm import server as llm_server
from rag.stack import free_port

DEMO = ROOT / "data" / "demo"
BIN = Path(sys.executable).parent


@dataclass
class LLMEndpoint:
    base_url: str
    model: str


@pytest.fixture(scope="session")
def llm() -> Iterator[LLMEndpoint]:
    """The embedded vLLM server with the default prepared model (`make test` prepares it)."""
    settings = Settings()
    server = llm_server.start(settings)
    yield LLMEndpoint(server.base_url, server.model)
    server.stop()


@dataclass
class Service:
    url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    _keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def key(self, tenant: str = "demo", role: str = "admin") -> str:
        """An API key of the tenant (created once per tenant and role, in the service's own
        database, as `ragtrust keys create` does)."""
        if (tenant, role) not in self._keys:
            store = KeyStore(make_engine(f"sqlite:///{self.data_dir / 'ragtrust.db'}"))
            self._keys[tenant, role] = store.create(tenant, role, "tests").secret
        return self._keys[tenant, role]

    def client(
        self, tenant: str | None = "demo", role: str = "admin", **kwargs: object
    ) -> httpx.Client:
        """A client authenticated as the tenant's ``role`` (none when ``tenant`` is None)."""
        headers = {"Authorization": f"Bearer {self.key(tenant, role)}"} if tenant else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kwargs)  # type: ignore[arg-type]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "ragtrust"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_service(
    data_dir: Path, llm_base_url: str, llm_model: str, **extra_env: str
) -> tuple[Service, subprocess.Popen[bytes]]:
    """``rag.stack.start_service`` (what the benchmarks start too), waited for until healthy.

    The suites written for the LLM-written answer path (streams cut off by a fault proxy,
    generation timings, the chat surface) pin ``generative``; tests/test_extractive_api.py
    runs the product's default."""
    extra_env.setdefault("RAGTRUST_ANSWER_MODE", "generative")
    started = stack.start_service(data_dir, llm_base_url, llm_model, **extra_env)
    proc = started.proc
    service = Service(started.url, data_dir, started.env, started.log_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited:\n{service.log()[-3000:]}")
        try:
            if httpx.get(f"{service.url}/healthz", timeout=2).status_code == 200:
                return service, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"service not up after 180 s:\n{service.log()[-3000:]}")


@pytest.fixture(scope="session")
def service_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Service]]:
    procs: list[subprocess.Popen[bytes]] = []

    def make(name: str, llm_base_url: str, llm_model: str, **env: str) -> Service:
        svc, proc = start_service(tmp_path_factory.mktemp(name), llm_base_url, llm_model, **env)
        procs.append(proc)
        return svc

    yield make
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def service(service_factory: Callable[..., Service], llm: LLMEndpoint) -> Service:
    """ragtrust on the real vLLM, with the demo corpus ingested into tenant `demo` via the CLI."""
    svc = service_factory("service", llm.base_url, llm.model)
    for args in (("tenants", "create", "demo"), ("ingest", str(DEMO), "--tenant", "demo")):
        done = svc.cli(*args)
        assert done.returncode == 0, done.stderr
    return svc


@pytest.fixture(scope="session")
def dead_llm_service(service_factory: Callable[..., Service]) -> Service:
    """ragtrust pointed at an LLM endpoint where nothing listens."""
    svc = service_factory("deadllm", f"http://127.0.0.1:{free_port()}/v1", "nothing-here")
    for args in (("tenants", "create", "demo"), ("ingest", str(DEMO), "--tenant", "demo")):
        assert svc.cli(*args).returncode == 0
    return svc
