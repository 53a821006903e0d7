"""Metrics labels, the access log and the log formats, through a tiny in-process FastAPI app
wrapped in the service's own middleware (the real service's /metrics and log are tested
elsewhere)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import pty
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from rag.api.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from rag.api.observability import (
    QUIET_LOGGERS,
    UNMATCHED,
    LogFormat,
    Metrics,
    ObservabilityMiddleware,
    RequestContextFilter,
    TextFormatter,
    logging_config,
    make_formatter,
    method_label,
    request_context,
    route_template,
)
from rag.core.settings import ROOT
from rag.keys import Principal

deep = logging.getLogger("ragtrust.test.deep")


def make_app(metrics: Metrics) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: str, request: Request) -> dict[str, str]:
        request.state.principal = Principal(key_id="k1", tenant="acme", role="user")
        deep.info("in the pipeline")
        await asyncio.to_thread(deep.info, "in a worker thread")
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaput")

    @app.get("/stream")
    async def stream(fail: bool = False) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(3):
                await asyncio.sleep(0.02)
                if fail and i == 1:
                    raise RuntimeError("stream broke")
                yield b"chunk "

        return StreamingResponse(chunks())

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    # The service's order, innermost first: the body cap, the request id, then this.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=100)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    return app


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(tenant_label=False)


@pytest.fixture
async def client(metrics: Metrics) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(metrics), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Reads the JSON records every logger wrote so far in the test (through the handler
    configure_logging installs, on a buffer)."""
    buffer, root = io.StringIO(), logging.getLogger()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(make_formatter("json"))
    handler.addFilter(RequestContextFilter())
    level = root.level
    root.setLevel(logging.INFO)  # setLevel, not assignment: loggers cache isEnabledFor
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def access_records(logs: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [r for r in logs() if r["logger"] == "ragtrust.access"]


def requests_count(metrics: Metrics, method: str, route: str, status: int) -> float | None:
    labels = {"method": method, "route": route, "status": str(status)}
    return metrics.registry.get_sample_value("ragtrust_http_requests_total", labels)


def label_names(metrics: Metrics) -> set[str]:
    return {k for m in metrics.registry.collect() for s in m.samples for k in s.labels}


def observe(metrics: Metrics, tenant: str = "acme", **overrides: Any) -> None:
    args: dict[str, Any] = {
        "preset": "balanced",
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "trust_tokens": 50,
        "trust_score": 0.75,
        "flagged": False,
        "pii_entities": {"PERSON": 2, "EMAIL_ADDRESS": 0},
        "timings_ms": {"retrieval": 10.0, "generation": 120.0, "trust": 30.0, "total": 160.0},
    }
    metrics.observe_answer(tenant, **(args | overrides))


# --- pure logic -----------------------------------------------------------------------------


class _Route:
    path = "/v1/documents/{document_id:path}"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param({"route": _Route()}, "/v1/documents/{document_id:path}", id="template"),
        pytest.param({"path": "/v1/documents/secret"}, UNMATCHED, id="no-route"),
        pytest.param({"route": object()}, UNMATCHED, id="route-without-path"),
    ],
)
def test_route_template(scope: dict[str, Any], expected: str) -> None:
    assert route_template(scope) == expected


@pytest.mark.parametrize(
    ("method", "expected"),
    [pytest.param("POST", "POST", id="known"), pytest.param("BREW", "OTHER", id="invented")],
)
def test_method_label(method: str, expected: str) -> None:
    assert method_label(method) == expected


def test_request_context_adds_the_key_once_authenticated() -> None:
    state: dict[str, Any] = {"request_id": "req_1"}
    assert request_context(state) == {"request_id": "req_1"}
    state["principal"] = Principal(key_id="k1", tenant="acme", role="user")
    assert request_context(state) == {"request_id": "req_1", "tenant": "acme", "key_id": "k1"}


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr does under `make run` in a shell."""

    def isatty(self) -> bool:
        return True


class Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


def record(**fields: str) -> logging.LogRecord:
    made = logging.LogRecord("ragtrust", logging.INFO, __file__, 1, "answered", None, None)
    made.__dict__.update(fields)
    return made


@pytest.mark.parametrize(
    ("log_format", "stream", "text"),
    [
        pytest.param("auto", Terminal(), True, id="auto-terminal"),
        pytest.param("auto", io.StringIO(), False, id="auto-pipe"),
        pytest.param("auto", Closed(), False, id="auto-closed"),
        pytest.param("text", io.StringIO(), True, id="text-on-a-pipe"),
        pytest.param("json", Terminal(), False, id="json-on-a-terminal"),
    ],
)
def test_text_on_a_terminal_json_elsewhere(
    log_format: LogFormat, stream: io.StringIO, text: bool
) -> None:
    formatter = make_formatter(log_format, stream)
    assert isinstance(formatter, TextFormatter) is text
    line = formatter.format(record(request_id="req_1"))
    assert line.startswith("{") is not text


def test_json_off_a_terminal_is_the_json_format() -> None:
    """auto changes nothing for files and pipes: log shippers parse these lines."""
    one = record(request_id="req_1", tenant="acme")
    assert make_formatter("auto", io.StringIO()).format(one) == make_formatter("json").format(one)
    assert list(json.loads(make_formatter("json").format(one))) == [
        "level", "logger", "message", "request_id", "tenant", "timestamp"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "ending"),
    [
        pytest.param({}, "INFO    ragtrust: answered", id="outside-a-request"),
        pytest.param({"request_id": "req_1"}, "ragtrust: answered [req_1]", id="request-id"),
        pytest.param(
            {"request_id": "req_1", "tenant": "acme", "key_id": "k1"},
            "ragtrust: answered [req_1 tenant=acme key_id=k1]",
            id="authenticated",
        ),
    ],
)
def test_text_logs_end_with_the_request_fields(fields: dict[str, str], ending: str) -> None:
    line = make_formatter("text").format(record(**fields))
    assert line.endswith(ending) and "\n" not in line


@pytest.mark.parametrize(
    ("level", "quiet"),
    [
        pytest.param("INFO", "WARNING", id="info"),
        pytest.param("DEBUG", "DEBUG", id="debug-asked-for"),
        pytest.param("ERROR", "ERROR", id="error"),
    ],
)
def test_library_chatter_is_quiet_unless_debugging(level: str, quiet: str) -> None:
    loggers = logging_config(level)["loggers"]
    assert "presidio-analyzer" in QUIET_LOGGERS
    assert {name: loggers[name]["level"] for name in QUIET_LOGGERS} == dict.fromkeys(
        QUIET_LOGGERS, quiet
    )


def test_answer_metrics_have_no_tenant_label_when_off(metrics: Metrics) -> None:
    observe(metrics)
    assert "tenant" not in label_names(metrics)
    assert metrics.registry.get_sample_value("ragtrust_answers_total", {"preset": "balanced"}) == 1


def test_answer_metrics_carry_the_tenant_when_on() -> None:
    metrics = Metrics(tenant_label=True)
    observe(metrics, "acme")
    observe(metrics, "globex", flagged=True)
    get = metrics.registry.get_sample_value
    assert get("ragtrust_llm_tokens_total", {"tenant": "acme", "kind": "trust"}) == 50
    assert get("ragtrust_answers_flagged_total", {"tenant": "globex"}) == 1
    assert get("ragtrust_answers_flagged_total", {"tenant": "acme"}) is None
    assert get("ragtrust_trust_score_count", {"tenant": "globex"}) == 1


def test_answer_histograms_and_counters(metrics: Metrics) -> None:
    observe(metrics)
    observe(metrics, trust_score=None, flagged=True, preset="off")
    get = metrics.registry.get_sample_value
    assert get("ragtrust_trust_score_bucket", {"le": "0.7"}) == 0
    assert get("ragtrust_trust_score_bucket", {"le": "0.8"}) == 1
    assert get("ragtrust_trust_score_count") == 1  # None is not a score
    assert get("ragtrust_answers_flagged_total") == 1
    assert get("ragtrust_llm_tokens_total", {"kind": "prompt"}) == 200
    assert get("ragtrust_pii_entities_total", {"entity_type": "PERSON"}) == 4
    assert get("ragtrust_pii_entities_total", {"entity_type": "EMAIL_ADDRESS"}) is None
    assert get("ragtrust_stage_duration_seconds_sum", {"stage": "generation"}) == 0.24
    assert get("ragtrust_stage_duration_seconds_count", {"stage": "total"}) is None


def test_render_is_prometheus_text(metrics: Metrics) -> None:
    observe(metrics)
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=0.0.4")
    assert b"# TYPE ragtrust_trust_score histogram" in body


# --- through the middleware -----------------------------------------------------------------


async def test_routes_are_labelled_by_template(client: httpx.AsyncClient, metrics: Metrics) -> None:
    for item in ("a", "b", "c"):
        assert (await client.get(f"/items/{item}")).status_code == 200
    assert requests_count(metrics, "GET", "/items/{item_id}", 200) == 3
    count = {"method": "GET", "route": "/items/{item_id}"}
    assert metrics.registry.get_sample_value("ragtrust_http_request_duration_seconds_count", count)


async def test_unmatched_paths_share_one_label(client: httpx.AsyncClient, metrics: Metrics) -> None:
    for n in range(5):
        assert (await client.get(f"/probe/{n}")).status_code == 404
    assert requests_count(metrics, "GET", UNMATCHED, 404) == 5
    assert b"/probe/" not in metrics.render()[0]


@pytest.mark.parametrize(
    ("method", "path", "body", "route", "status"),
    [
        pytest.param("GET", "/boom", b"", "/boom", 500, id="exception"),
        pytest.param("BREW", "/items/a", b"", "/items/{item_id}", 405, id="invented-method"),
        pytest.param("POST", "/upload", b"x" * 500, "/upload", 413, id="body-too-large"),
        pytest.param("POST", "/upload", b"x" * 50, "/upload", 200, id="small-body"),
    ],
)
async def test_status_labels(
    client: httpx.AsyncClient,
    metrics: Metrics,
    method: str,
    path: str,
    body: bytes,
    route: str,
    status: int,
) -> None:
    assert (await client.request(method, path, content=body)).status_code == status
    assert requests_count(metrics, method_label(method), route, status) == 1


async def test_streams_are_timed_to_the_last_chunk(
    client: httpx.AsyncClient, metrics: Metrics
) -> None:
    assert (await client.get("/stream")).text == "chunk " * 3
    assert requests_count(metrics, "GET", "/stream", 200) == 1
    labels = {"method": "GET", "route": "/stream"}
    seconds = metrics.registry.get_sample_value(
        "ragtrust_http_request_duration_seconds_sum", labels
    )
    assert seconds is not None and seconds >= 0.06


async def test_a_stream_that_breaks_is_logged_with_its_error(
    client: httpx.AsyncClient, metrics: Metrics, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    await client.get("/stream", params={"fail": "true"})
    assert requests_count(metrics, "GET", "/stream", 200) == 1  # what the client was sent
    (access,) = access_records(logs)
    assert access["error"] == "RuntimeError"


async def test_one_access_record_per_request_without_request_text(
    client: httpx.AsyncClient, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    response = await client.get("/items/s3cret", params={"q": "hunter2"})
    (access,) = access_records(logs)
    assert access["method"] == "GET" and access["route"] == "/items/{item_id}"
    assert access["status"] == 200 and access["duration_ms"] > 0
    assert access["request_id"] == response.headers["x-request-id"]
    assert (access["tenant"], access["key_id"]) == ("acme", "k1")
    assert {"timestamp", "level", "message"} <= access.keys()
    assert "s3cret" not in json.dumps(access) and "hunter2" not in json.dumps(access)


async def test_log_lines_inside_a_request_carry_its_context(
    client: httpx.AsyncClient, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    response = await client.get("/items/a")
    deep_lines = [r for r in logs() if r["logger"] == deep.name]
    assert [r["message"] for r in deep_lines] == ["in the pipeline", "in a worker thread"]
    for line in deep_lines:
        assert line["request_id"] == response.headers["x-request-id"]
        assert (line["tenant"], line["level"]) == ("acme", "INFO")
    deep.info("after the request")
    assert "request_id" not in [r for r in logs() if r["message"] == "after the request"][0]


# What `ragtrust serve` does: uvicorn applies logging_config() itself, then logs.
SERVE_LOGGING = (
    "import logging, uvicorn\n"
    "from rag.api.observability import logging_config\n"
    "uvicorn.Config('service:app', log_config=logging_config(), access_log=False)\n"
    "logging.getLogger('uvicorn.error').info('Started server process')\n"
    "logging.getLogger('uvicorn.access').info('GET /raw?q=secret')\n"
    "logging.getLogger('httpx').info('HTTP Request: POST http://llm')\n"
    "logging.getLogger('httpx2').info('HTTP Request: POST http://llm')\n"
    "logging.getLogger('presidio-analyzer').info('Loaded recognizer: UsSsnRecognizer')\n"
)


def test_uvicorn_logs_through_the_json_handler() -> None:
    """Off a terminal (here a pipe): JSON lines, and none from the quiet libraries."""
    run = subprocess.run(
        [sys.executable, "-c", SERVE_LOGGING], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stderr.splitlines()]
    assert [(r["logger"], r["level"], r["message"]) for r in lines] == [
        ("uvicorn.error", "INFO", "Started server process")
    ]
    assert "timestamp" in lines[0] and "color_message" not in lines[0]


def test_uvicorn_logs_text_on_a_terminal() -> None:
    """stderr on a real pseudo-terminal, as in a shell running `make run`."""
    controller, terminal = pty.openpty()
    try:
        run = subprocess.run([sys.executable, "-c", SERVE_LOGGING], cwd=ROOT, stderr=terminal)
        os.close(terminal)
        written = b""
        with contextlib.suppress(OSError):  # EIO once the terminal side is closed and drained
            while chunk := os.read(controller, 4096):
                written += chunk
    finally:
        os.close(controller)
    assert run.returncode == 0, written
    lines = written.decode().splitlines()
    assert len(lines) == 1, lines
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d [\d:,]+ INFO    uvicorn.error: Started server process", lines[0]
    )
