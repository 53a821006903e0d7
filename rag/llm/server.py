"""Lifecycle of the embedded vLLM server: start it, wait until it serves, stop it on exit.

vLLM lives in its own virtualenv (``.venv-llm``) because its pins (torch, transformers,
fastapi) fight the service's; we therefore start it as a subprocess of that interpreter
rather than importing it. A server already answering on the port with the same model is
reused, not duplicated, so `make run`, the tests and `ragtrust llm serve` can share one.

Every start gets a random API key (in vLLM's environment, not on its command line where
``ps`` shows it to every local user), written to ``DATA_DIR/vllm-<port>.key`` (mode 0600)
so that later processes of the same installation can reuse the server. A server on the port
that does not accept that key, or that accepts requests without any key, was not started by
this installation: it is never reused, since prompts (pseudonymized, but with the tenant's
documents) would go to whoever runs it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import httpx

from rag.core.errors import LLMUnavailable, ModelNotPrepared
from rag.core.secrets import replace_secret
from rag.core.settings import Settings
from rag.llm.hardware import has_avx512


@dataclass
class EmbeddedServer:
    base_url: str
    model: str
    api_key: str
    process: subprocess.Popen[bytes] | None  # None when an existing server was reused
    log_path: Path

    def stop(self, grace_s: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Port(Enum):
    """What answers on the embedded server's port."""

    FREE = "nothing"
    OURS = "our server, with the model"
    LOCKED = "a server that refuses our key"
    OPEN = "a server that asks for no key"
    OTHER = "a server without the model"


def probe(base_url: str, model: str, api_key: str, timeout_s: float = 2) -> Port:
    try:
        resp = httpx.get(f"{base_url}/models", headers=_auth(api_key), timeout=timeout_s)
        if resp.status_code in (401, 403):
            return Port.LOCKED
        if resp.status_code != 200 or not any(m["id"] == model for m in resp.json()["data"]):
            return Port.OTHER
        anonymous = httpx.get(f"{base_url}/models", timeout=timeout_s)
    except httpx.TransportError:
        return Port.FREE
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return Port.OTHER
    return Port.OPEN if anonymous.status_code == 200 else Port.OURS


def key_path(settings: Settings) -> Path:
    return settings.data_dir / f"vllm-{settings.llm_port}.key"


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _known_key(settings: Settings) -> str:
    try:
        return key_path(settings).read_text().strip()
    except OSError:
        return ""


def server_command(settings: Settings, model_dir: Path, model_name: str) -> list[str]:
    return [
        str(settings.llm_python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir),
        "--served-model-name", model_name,
        "--host", "127.0.0.1", "--port", str(settings.llm_port),
        "--max-model-len", str(settings.llm_max_model_len),
        "--dtype", "bfloat16",
        "--disable-uvicorn-access-log",  # request logging stays off: prompts may hold PII
    ] + ([] if settings.llm_compile else ["--enforce-eager"])  # fmt: skip


def start(
    settings: Settings,
    *,
    model_dir: Path | None = None,
    model_name: str | None = None,
    on_wait: Callable[[float], None] | None = None,
) -> EmbeddedServer:
    """Start (or reuse) the embedded server and block until it serves the model."""
    base_url = f"http://127.0.0.1:{settings.llm_port}/v1"
    model_dir = model_dir or settings.embedded_model_dir
    model = model_name or settings.embedded_model_name
    log_path = settings.data_dir / "logs" / f"vllm-{settings.llm_port}.log"
    known = _known_key(settings)
    found = probe(base_url, model, known)
    if found is Port.OURS:
        return EmbeddedServer(base_url, model, known, None, log_path)
    if found is not Port.FREE:
        raise LLMUnavailable(
            f"port {settings.llm_port} is held by {found.value} ({model}), not one this "
            f"installation started: stop it, or set RAGTRUST_LLM_PORT to a free port"
        )
    if not (model_dir / "config.json").exists():
        raise ModelNotPrepared(
            f"no embedded model at {model_dir}; run `ragtrust model prepare "
            f"--precision {settings.llm_precision}` (or `make model`)"
        )
    if _needs_avx512(model_dir) and not has_avx512():
        raise ModelNotPrepared(
            f"{model_dir.name} holds int4 (W4A16) weights, whose vLLM CPU kernel needs AVX-512, "
            "and this CPU has none; use RAGTRUST_LLM_PRECISION=int8 (the default)"
        )
    if not settings.llm_python.exists():
        raise LLMUnavailable(
            f"vLLM's interpreter {settings.llm_python} is missing; run `make setup`"
        )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": str(settings.llm_kv_cache_gib),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "VLLM_API_KEY": (api_key := secrets.token_urlsafe(32)),
    }
    replace_secret(key_path(settings), api_key)
    with log_path.open("ab") as log:
        # A process group of its own, so that stop() takes vLLM's worker processes with it.
        cmd = server_command(settings, model_dir, model)
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = EmbeddedServer(base_url, model, api_key, proc, log_path)
    started = time.monotonic()
    while (found := probe(base_url, model, api_key)) is not Port.OURS:
        elapsed = time.monotonic() - started
        if found in (Port.OPEN, Port.LOCKED):  # not the key we gave it: not our process
            server.stop()
            raise LLMUnavailable(
                f"port {settings.llm_port} answers as {found.value} instead of the server "
                f"just started; see {log_path}"
            )
        if proc.poll() is not None:
            raise LLMUnavailable(
                f"the vLLM server exited with code {proc.returncode} while starting; "
                f"see {log_path}:\n{_tail(log_path)}"
            )
        if elapsed > settings.llm_startup_timeout_s:
            server.stop()
            raise LLMUnavailable(
                f"the vLLM server was not ready after {elapsed:.0f} s; see {log_path}"
            )
        if on_wait:
            on_wait(elapsed)
        time.sleep(1)
    return server


def _needs_avx512(model_dir: Path) -> bool:
    try:
        meta = json.loads((model_dir / "ragtrust.json").read_text())
    except (OSError, ValueError):
        return False
    return meta.get("precision") == "int4" and not meta.get("simulated", False)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
