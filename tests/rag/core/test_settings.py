from __future__ import annotations

import pytest
from pydantic import ValidationError

from rag.core.settings import Settings


def test_external_llm_needs_url_and_model_together() -> None:
    with pytest.raises(ValidationError, match="together"):
        Settings(llm_base_url="http://gpu:8000/v1")
    s = Settings(llm_base_url="http://gpu:8000/v1", llm_model="llama")
    assert not s.embedded_llm


def test_overlap_must_be_smaller_than_chunk_size() -> None:
    with pytest.raises(ValidationError, match="OVERLAP"):
        Settings(chunk_size=200, chunk_overlap=200)


def test_env_prefix_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRUST_TOP_K", "7")
    assert Settings().top_k == 7


def test_default_precision_is_the_measured_choice() -> None:
    s = Settings()
    assert s.llm_precision == "int8"
    assert s.embedded_model_name == "smollm2-135m-instruct-int8"


def test_explicit_precision_wins() -> None:
    assert Settings(llm_precision="bf16").llm_precision == "bf16"
