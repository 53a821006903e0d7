"""Starting the embedded server fails fast and says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.core.errors import LLMUnavailable, ModelNotPrepared
from rag.core.settings import Settings
from rag.llm import server as llm_server
from rag.stack import free_port


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
