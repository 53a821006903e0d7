"""Property-based run of schemathesis (its CLI, ``schemathesis run``) against the service's own
OpenAPI schema, over real HTTP, with the real vLLM behind it: whatever the schema admits, and
in negative mode what it does not, no request gets a 5xx."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.support import BIN, DEMO, LLMEndpoint, Service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fuzz_service(service_factory: Callable[..., Service], llm: LLMEndpoint) -> Service:
    """Short answers and the cheap trust preset: the point is coverage of inputs, not prose."""
    svc = service_factory(
        "fuzz", llm.base_url, llm.model,
        RAGTRUST_MAX_ANSWER_TOKENS="16", RAGTRUST_TRUST_PRESET="fast", RAGTRUST_RATE_LIMIT="",
        RAGTRUST_ANONYMOUS_RATE_LIMIT="",
    )  # fmt: skip
    for args in (("tenants", "create", "demo"), ("ingest", str(DEMO / "security-policy.md"),
                                                 "--tenant", "demo")):  # fmt: skip
        done = svc.cli(*args)
        assert done.returncode == 0, done.stderr
    return svc


@pytest.mark.parametrize(
    ("role", "include"),
    [("admin", r"^/(v1/(answer|score|chat|models|documents)|healthz|readyz|metrics)"),
     ("auditor", r"^/v1/audit")],
)  # fmt: skip
def test_no_input_gets_a_server_error(
    fuzz_service: Service, role: str, include: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    reports = tmp_path_factory.mktemp(f"schemathesis-{role}")
    run = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{fuzz_service.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "10",
            "--seed",
            "7",
            "--header",
            f"Authorization: Bearer {fuzz_service.key('demo', role)}",
            "--include-path-regex",
            include,
            "--request-timeout",
            "120",
            # One worker: with two threads, hypothesis's ast.parse of its own lambdas hit
            # CPython 3.11's spurious "AST constructor recursion depth mismatch" SystemError
            # (python/cpython#106905, seen in threaded use) once in three suite runs.
            "--workers",
            "1",
            "--report-dir",
            str(reports),
            "--warnings",
            "off",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "passed" in run.stdout.lower() or "no issues found" in run.stdout.lower(), run.stdout
