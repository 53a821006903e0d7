"""Lifecycle of the embedded vLLM server: start it, wait until it serves, stop it on exit.

vLLM lives in its own virtualenv (``.venv-llm``) because its pins (torch, transformers,
fastapi) fight the service's; we therefore start it as a subprocess of that interpreter
rather than importing it. A server already answering on the port with the same model is
reused, not duplicated, so `make run`, the tests and `ragtrust llm serve` can share one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from rag.core.errors import LLMUnavailable, ModelNotPrepared
from rag.core.settings import Settings
from rag.llm.hardware import has_avx512


@dataclass
class EmbeddedServer:
    base_url: str
    model: str
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


def serves_model(base_url: str, model: str, timeout_s: float = 2) -> bool:
    try:
        resp = httpx.get(f"{base_url}/models", timeout=timeout_s)
        return resp.status_code == 200 and any(m["id"] == model for m in resp.json()["data"])
    except (httpx.HTTPError, ValueError, KeyError):
        return False


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
    if serves_model(base_url, model):
        return EmbeddedServer(base_url, model, None, log_path)
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
    }
    with log_path.open("ab") as log:
        # A process group of its own, so that stop() takes vLLM's worker processes with it.
        cmd = server_command(settings, model_dir, model)
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = EmbeddedServer(base_url, model, proc, log_path)
    started = time.monotonic()
    while not serves_model(base_url, model):
        elapsed = time.monotonic() - started
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
