"""Property-based run of schemathesis against the service's own OpenAPI schema, over real
HTTP, with the real vLLM behind it: whatever the schema admits (and, in negative mode, what it
does not), no request gets a 5xx."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import DEMO, LLMEndpoint, Service

pytestmark = pytest.mark.integration

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="session")
def fuzz_service(service_factory: Callable[..., Service], llm: LLMEndpoint) -> Service:
    """Short answers and the cheap trust preset: the point is coverage of inputs, not prose."""
    svc = service_factory(
        "fuzz", llm.base_url, llm.model,
        RAGTRUST_MAX_ANSWER_TOKENS="16", RAGTRUST_TRUST_PRESET="fast", RAGTRUST_RATE_LIMIT="",
    )  # fmt: skip
    for args in (("tenants", "create", "demo"), ("ingest", str(DEMO / "security-policy.md"),
                                                 "--tenant", "demo")):  # fmt: skip
        done = svc.cli(*args)
        assert done.returncode == 0, done.stderr
    return svc


@pytest.fixture
def api_schema(fuzz_service: Service) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_service.url}/openapi.json")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_gets_a_server_error(case: schemathesis.Case, fuzz_service: Service) -> None:
    role = "auditor" if case.path.startswith("/v1/audit") else "admin"
    headers = {"Authorization": f"Bearer {fuzz_service.key('demo', role)}"}
    case.call_and_validate(
        base_url=fuzz_service.url, headers=headers, checks=[not_a_server_error], timeout=120
    )
