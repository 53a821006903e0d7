"""What `ragtrust ask` shows a person, rendered from responses built with the service's own
response models (so the test reads the fields the service really sends); the command itself
is run against the real service in tests/api/test_service.py."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from rag.cli.main import print_answer
from rag.protocol import AnswerResponse, Citation, Cost, Usage
from trust.scorer import TrustResult, UnsupportedSentence

ANSWER = "Full-time employees get 30 vacation days. Unused days expire in March. [1]"
UNSUPPORTED = UnsupportedSentence(
    text="Unused days expire in March.", start=42, end=70, support=0.2
)


def citation(source: int, chunk_id: str, score: float, *, cited: bool) -> Citation:
    document_id = chunk_id.split("#")[0]
    return Citation(source=source, document_id=document_id, title=document_id,
                    chunk_id=chunk_id, score=score, snippet="...", cited=cited)  # fmt: skip


def response(trust: TrustResult | None) -> dict[str, Any]:
    return AnswerResponse(
        request_id="req_1",
        answer=ANSWER,
        citations=[
            citation(1, "hr-leave-policy.md#1", 0.91, cited=True),
            citation(2, "travel-policy.md#0", 0.42, cited=False),
        ],
        model="smollm2-135m-instruct-int8",
        usage=Usage(prompt_tokens=300, completion_tokens=20, total_tokens=320),
        timings_ms={"total": 900.0},
        cost=Cost(currency="USD", basis="tokens", answer=0.0, trust=0.0, total=0.0),
        trust=trust,
        answer_mode="generative",
    ).model_dump(mode="json")


def trust(score: float, flagged: bool, *unsupported: UnsupportedSentence) -> TrustResult:
    return TrustResult(score=score, flagged=flagged, threshold=0.5, preset="balanced",
                       signals={}, unsupported=list(unsupported), samples=5)  # fmt: skip


def shown(body: dict[str, Any]) -> list[str]:
    buffer = io.StringIO()
    print_answer(Console(file=buffer, width=200, color_system=None), body)
    return buffer.getvalue().splitlines()


@pytest.mark.parametrize(
    ("result", "line"),
    [
        pytest.param(
            trust(0.31, True, UNSUPPORTED),
            " trust 0.31 FLAGGED (threshold 0.5, balanced, generative)",
            id="flagged",
        ),
        pytest.param(
            trust(0.87, False), " trust 0.87 ok (threshold 0.5, balanced, generative)", id="ok"
        ),
        pytest.param(
            TrustResult.off("off", 0.5), " trust not scored (preset off)", id="preset-off"
        ),
        pytest.param(None, " trust not scored (no answer)", id="no-trust"),
    ],
)
def test_the_trust_verdict_follows_the_answer(result: TrustResult | None, line: str) -> None:
    assert shown(response(result))[:2] == [ANSWER, line]


def test_each_unsupported_sentence_is_shown_with_its_support() -> None:
    lines = shown(response(trust(0.31, True, UNSUPPORTED)))
    assert lines[2] == ' unsupported: "Unused days expire in March." (support 0.20)'
    assert sum(line.startswith(" unsupported:") for line in lines) == 1


def test_sources_are_listed_cited_ones_starred() -> None:
    assert shown(response(trust(0.87, False)))[2:] == [
        " *[1] hr-leave-policy.md (hr-leave-policy.md#1, score 0.910)",
        "  [2] travel-policy.md (travel-policy.md#0, score 0.420)",
    ]


def test_text_from_documents_is_not_read_as_markup() -> None:
    """Answers and sentences are documents' text: brackets in them are printed as written."""
    sentence = UnsupportedSentence(text="See [bold]x[/bold].", start=0, end=18, support=0.0)
    body = response(trust(0.2, True, sentence)) | {"answer": "See [bold]x[/bold]. [1]"}
    lines = shown(body)
    assert lines[0] == "See [bold]x[/bold]. [1]"
    assert lines[2] == ' unsupported: "See [bold]x[/bold]." (support 0.00)'
