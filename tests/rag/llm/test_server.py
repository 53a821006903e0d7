"""Starting the embedded server fails fast and says how to fix it, and it serves only
whoever holds this installation's key."""

from __future__ import annotations

import contextlib
import json
import stat
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import httpx
import pytest

from rag.core.errors import LLMUnavailable, ModelNotPrepared
from rag.core.settings import Settings
from rag.llm import server as llm_server
from rag.stack import free_port
from tests.support import LLMEndpoint


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, models_dir=tmp_path / "models", llm_port=free_port(), **kw)  # type: ignore[arg-type]


def _fake_checkpoint(settings: Settings, meta: str = "{}") -> None:
    settings.embedded_model_dir.mkdir(parents=True)
    (settings.embedded_model_dir / "config.json").write_text("{}")
    (settings.embedded_model_dir / "ragtrust.json").write_text(meta)


def test_missing_model_names_the_command_that_prepares_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotPrepared, match="ragtrust model prepare"):
        llm_server.start(_settings(tmp_path))


def test_missing_vllm_interpreter_points_to_make_setup(tmp_path: Path) -> None:
    settings = _settings(tmp_path, llm_python=tmp_path / "no-python")
    _fake_checkpoint(settings)
    with pytest.raises(LLMUnavailable, match="make setup"):
        llm_server.start(settings)


def test_a_server_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    settings = _settings(tmp_path, llm_python=Path("/bin/false"))
    _fake_checkpoint(settings)
    with pytest.raises(LLMUnavailable, match="exited with code 1"):
        llm_server.start(settings)


def test_server_command_is_eager_unless_compile_is_asked_for(tmp_path: Path) -> None:
    eager = llm_server.server_command(_settings(tmp_path), Path("/m"), "m")
    compiled = llm_server.server_command(_settings(tmp_path, llm_compile=True), Path("/m"), "m")
    assert "--enforce-eager" in eager and "--enforce-eager" not in compiled
    assert eager[eager.index("--served-model-name") + 1] == "m"


def test_int4_on_a_cpu_without_avx512_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llm_server, "has_avx512", lambda: False)
    settings = _settings(tmp_path, llm_precision="int4")
    _fake_checkpoint(settings, '{"precision": "int4", "simulated": false}')
    with pytest.raises(ModelNotPrepared, match="AVX-512.*RAGTRUST_LLM_PRECISION=int8"):
        llm_server.start(settings)


def _answering(body: bytes) -> Iterator[str]:
    """A server on a free port that answers every GET with ``body`` and asks for no key:
    what someone else's unauthenticated server on the port looks like."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield str(httpd.server_address[1])
    finally:
        httpd.shutdown()


def test_a_server_that_asks_for_no_key_is_never_reused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    model = settings.embedded_model_name
    body = json.dumps({"data": [{"id": model}]}).encode()
    for port in _answering(body):
        with pytest.raises(LLMUnavailable, match="asks for no key.*RAGTRUST_LLM_PORT"):
            llm_server.start(settings.model_copy(update={"llm_port": int(port)}))


@pytest.mark.integration
def test_the_embedded_server_wants_the_key_of_this_installation(
    llm: LLMEndpoint, tmp_path: Path
) -> None:
    port = int(llm.base_url.rsplit(":", 1)[1].split("/")[0])
    assert llm_server.probe(llm.base_url, llm.model, llm.api_key) is llm_server.Port.OURS
    assert llm_server.probe(llm.base_url, llm.model, "guess") is llm_server.Port.LOCKED
    assert httpx.get(f"{llm.base_url}/models", timeout=5).status_code == 401
    # Another installation (its own data directory, so not this key) refuses the server.
    other = Settings(data_dir=tmp_path, llm_port=port)
    with pytest.raises(LLMUnavailable, match="refuses our key"):
        llm_server.start(other)
    key_file = llm_server.key_path(Settings(llm_port=port))
    assert key_file.read_text().strip() == llm.api_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.integration
def test_the_key_is_on_no_command_line(llm: LLMEndpoint) -> None:
    """vLLM takes it from its environment: ``ps`` shows every local user the command lines."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):  # a process that ended, or not ours to read
            assert llm.api_key.encode() not in cmdline.read_bytes()
