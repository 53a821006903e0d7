"""What the tests share besides fixtures: the real service started as a process on a free
port (``Service``, ``start_service``), the vLLM endpoint it talks to, and the demo corpus.
Fixtures that hand these out are in tests/conftest.py."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rag import stack
from rag.core.settings import ROOT
from rag.db import make_engine
from rag.keys import KeyStore

DEMO = ROOT / "data" / "demo"
BIN = Path(sys.executable).parent


@dataclass
class LLMEndpoint:
    base_url: str
    model: str
    api_key: str


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
            store = KeyStore(make_engine(self.database_url))
            self._keys[tenant, role] = store.create(tenant, role, "tests").secret
        return self._keys[tenant, role]

    @property
    def database_url(self) -> str:
        return self.env.get("RAGTRUST_DATABASE_URL") or f"sqlite:///{self.data_dir / 'ragtrust.db'}"

    def client(
        self, tenant: str | None = "demo", role: str = "admin", **kwargs: object
    ) -> httpx.Client:
        """A client authenticated as the tenant's ``role`` (none when ``tenant`` is None)."""
        headers = {"Authorization": f"Bearer {self.key(tenant, role)}"} if tenant else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kwargs)  # type: ignore[arg-type]

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``ragtrust *args`` with the service's settings (``env``: RAGTRUST_* names changed)."""
        return subprocess.run(
            [str(BIN / "ragtrust"), *args],
            env={**self.env, **env},
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
    generation timings, the chat surface) pin ``generative``; tests/api/test_extractive_api.py
    runs the product's default."""
    extra_env.setdefault("RAGTRUST_ANSWER_MODE", "generative")
    started = stack.start_service(data_dir, llm_base_url, llm_model, **extra_env)
    try:
        started.wait_for("/healthz", timeout_s=180)
    except RuntimeError:
        started.proc.kill()
        raise
    return Service(started.url, data_dir, started.env, started.log_path), started.proc
