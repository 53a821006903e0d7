"""Session fixtures that start the real components once: the vLLM server, ragtrust's HTTP
service as a real uvicorn process on a free loopback port with its own data directory, the
embedder the service uses, and the servers replicas share (PostgreSQL, Redis). Without
PostgreSQL or Redis binaries the tests that need them are skipped, unless
RAGTRUST_TEST_POSTGRES=required (as `make test` sets it) turns that into a failure."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from rag.core.embedder import Embedder
from rag.core.settings import Settings
from rag.llm import server as llm_server
from rag.stack import free_port
from retrieval.build import build_embedder
from tests import redis_server
from tests.audit import pgcluster
from tests.support import DEMO, LLMEndpoint, Service, start_service


@pytest.fixture(scope="session")
def llm() -> Iterator[LLMEndpoint]:
    """The embedded vLLM server with the default prepared model (`make test` prepares it).

    Its key goes into the environment, as an operator configures an external endpoint, so
    that every service, CLI run and in-process ``Settings()`` the tests start can use it."""
    settings = Settings()
    server = llm_server.start(settings)
    os.environ["RAGTRUST_LLM_API_KEY"] = server.api_key
    yield LLMEndpoint(server.base_url, server.model, server.api_key)
    server.stop()


@pytest.fixture(scope="session")
def service_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Service]]:
    procs: list[subprocess.Popen[bytes]] = []

    def make(name: str, llm_base_url: str, llm_model: str, **env: str) -> Service:
        svc, proc = start_service(tmp_path_factory.mktemp(name), llm_base_url, llm_model, **env)
        procs.append(proc)
        return svc

    yield make
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def service(service_factory: Callable[..., Service], llm: LLMEndpoint) -> Service:
    """ragtrust on the real vLLM, with the demo corpus ingested into tenant `demo` via the CLI."""
    svc = service_factory("service", llm.base_url, llm.model)
    for args in (("tenants", "create", "demo"), ("ingest", str(DEMO), "--tenant", "demo")):
        done = svc.cli(*args)
        assert done.returncode == 0, done.stderr
    return svc


@pytest.fixture(scope="session")
def dead_llm_service(service_factory: Callable[..., Service]) -> Service:
    """ragtrust pointed at an LLM endpoint where nothing listens."""
    svc = service_factory("deadllm", f"http://127.0.0.1:{free_port()}/v1", "nothing-here")
    for args in (("tenants", "create", "demo"), ("ingest", str(DEMO), "--tenant", "demo")):
        assert svc.cli(*args).returncode == 0
    return svc


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The service's embedder, built from settings as the service builds it (the int8 ONNX
    export by default): consistency's cosines, selection's, and the calibration fitted on
    them come from this model, not from the fp32 sentence-transformers one."""
    return build_embedder(Settings())


def _missing(what: str) -> None:
    message = f"{what} is not installed (`make test` installs it)"
    if os.environ.get("RAGTRUST_TEST_POSTGRES") == "required":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.from_env_or_start()
    if cluster is None:
        _missing("PostgreSQL")
    assert cluster is not None
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis() -> Iterator[redis_server.RedisServer]:
    if not redis_server.available():
        _missing("redis-server")
    server = redis_server.start()
    yield server
    server.stop()
