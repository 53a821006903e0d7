"""Starting the embedded server fails fast and says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import llm_server
from rag.errors import LLMUnavailable, ModelNotPrepared
from rag.settings import Settings
from tests.conftest import free_port


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, models_dir=tmp_path / "models", llm_port=free_port(), **kw)  # type: ignore[arg-type]


def _fake_checkpoint(settings: Settings) -> None:
    settings.embedded_model_dir.mkdir(parents=True)
    (settings.embedded_model_dir / "config.json").write_text("{}")


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
