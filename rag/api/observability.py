"""Operations: Prometheus metrics, one access-log record per request, and logs that carry
the request id: one-line text on a terminal, JSON lines otherwise (files, pipes, collectors).

Labels are chosen so that no client can create new time series: routes are the matched
route *template* (unmatched paths share one label), unknown methods collapse to ``OTHER``,
and nothing from the request's text, query or headers ever becomes a label or a log field.
The tenant becomes a label only when the operator asks for it (one series per tenant).

The middleware points a context variable at the request's ``scope["state"]`` dict rather
than copying values out of it, so log lines emitted deep in the pipeline (threads included:
``asyncio.to_thread`` copies the context) carry the request id that ``RequestIdMiddleware``
and the key that authentication store there, whichever order the middleware run in.
"""

from __future__ import annotations

import logging
import logging.config
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from typing import IO, Any, Literal

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.llm.endpoints import EndpointState, ReportsEndpoints

UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STAGES = ("retrieval", "privacy", "generation", "trust")
# An answer on CPU takes seconds; a health check, milliseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
TRUST_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))

LogFormat = Literal["auto", "text", "json"]
# Libraries whose INFO lines are chatter, not events: kept at WARNING unless DEBUG is asked for.
QUIET_LOGGERS = (
    "httpx",  # a line per HTTP call
    "httpx2",  # the same from httpx2, which the openai client uses: a line per LLM call
    "faiss.loader",  # import chatter
    "presidio-analyzer",  # a line per recognizer loaded, and per analyzed text
    "alembic.runtime.plugins",  # a line per plugin at each start (migrations still log)
)

access_log = logging.getLogger("ragtrust.access")
_request_state: ContextVar[Mapping[str, Any] | None] = ContextVar("ragtrust_request", default=None)


class _EndpointCollector(Collector):
    """Read at scrape time from the client, which keeps the state anyway."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "ragtrust_llm_endpoint_up", "1 while the LLM endpoint answers.", labels=["endpoint"]
        )
        failed = CounterMetricFamily(
            "ragtrust_llm_endpoint_failovers",
            "Requests an LLM endpoint failed (connection, 5xx) and the next one was asked.",
            labels=["endpoint"],
        )
        for name, state in self.metrics.endpoint_status().items():
            up.add_metric([name], float(state.up))
            failed.add_metric([name], state.failovers)
        yield up
        yield failed


class Metrics:
    """Every metric the service exports, in a registry of its own (not the process-global
    one, so tests and several apps in one process never collide)."""

    def __init__(self, tenant_label: bool = False) -> None:
        self.tenant_label = tenant_label
        self.registry = CollectorRegistry()
        reg, t = self.registry, ("tenant",) if tenant_label else ()
        self.http_requests = Counter(
            "ragtrust_http_requests_total",
            "HTTP requests.",
            ("method", "route", "status"),
            registry=reg,
        )
        self.http_duration = Histogram(
            "ragtrust_http_request_duration_seconds",
            "Time to the last body chunk.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.tokens = Counter(
            "ragtrust_llm_tokens_total",
            "LLM tokens by kind (trust: samples and judges).",
            (*t, "kind"),
            registry=reg,
        )
        self.trust_score = Histogram(
            "ragtrust_trust_score",
            "Calibrated trust scores.",
            t,
            buckets=TRUST_BUCKETS,
            registry=reg,
        )
        self.flagged = Counter(
            "ragtrust_answers_flagged_total",
            "Answers below the trust threshold.",
            t,
            registry=reg,
        )
        self.answers = Counter(
            "ragtrust_answers_total", "Answers by trust preset.", (*t, "preset"), registry=reg
        )
        self.pii = Counter(
            "ragtrust_pii_entities_total",
            "PII values kept from the LLM, by type.",
            (*t, "entity_type"),
            registry=reg,
        )
        self.stages = Histogram(
            "ragtrust_stage_duration_seconds",
            "Time per answer stage.",
            (*t, "stage"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self._llm: ReportsEndpoints | None = None
        reg.register(_EndpointCollector(self))

    def watch_llm(self, llm: object) -> None:
        """Export the state of the LLM's endpoints, when it has several to report."""
        self._llm = llm if isinstance(llm, ReportsEndpoints) else None

    def endpoint_status(self) -> dict[str, EndpointState]:
        return self._llm.endpoint_status() if self._llm is not None else {}

    def _child(self, metric: Any, tenant: str, *values: str) -> Any:
        labels = (tenant, *values) if self.tenant_label else values
        return metric.labels(*labels) if labels else metric

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def observe_answer(
        self,
        tenant: str,
        *,
        preset: str,
        prompt_tokens: int,
        completion_tokens: int,
        trust_tokens: int,
        trust_score: float | None,
        flagged: bool,
        pii_entities: Mapping[str, int],
        timings_ms: Mapping[str, float],
    ) -> None:
        """Record one answer. ``preset`` and the entity types are closed sets (a validated
        enum and the privacy policy's types); stages other than STAGES (``total``) are
        skipped, since the HTTP histogram already has the whole request."""
        self._child(self.answers, tenant, preset).inc()
        tokens = {"prompt": prompt_tokens, "completion": completion_tokens, "trust": trust_tokens}
        for kind, n in tokens.items():
            self._child(self.tokens, tenant, kind).inc(max(n, 0))
        if trust_score is not None:
            self._child(self.trust_score, tenant).observe(trust_score)
        if flagged:
            self._child(self.flagged, tenant).inc()
        for entity_type, count in pii_entities.items():
            if count > 0:
                self._child(self.pii, tenant, entity_type).inc(count)
        for stage in STAGES:
            if stage in timings_ms:
                self._child(self.stages, tenant, stage).observe(timings_ms[stage] / 1000)

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type, for a ``GET /metrics`` route. The
        0.0.4 text format is what every Prometheus version reads."""
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4


def route_template(scope: Scope) -> str:
    """The template of the route the router matched (it stores it in ``scope["route"]``,
    also for a 405), or one shared label when none matched. A request answered before
    routing (a 413 on its declared length) is matched here against the app's routes."""
    route = scope.get("route") or _match(scope)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _match(scope: Scope) -> BaseRoute | None:
    routes: list[BaseRoute] = getattr(getattr(scope.get("app"), "router", None), "routes", [])
    matches = [(route, route.matches(scope)[0]) for route in routes]
    return next((r for r, m in matches if m is Match.FULL), None) or next(
        (r for r, m in matches if m is Match.PARTIAL), None
    )


def method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


def request_context(state: Mapping[str, Any]) -> dict[str, str]:
    """request_id, tenant and key_id, each only once known (the principal appears after
    authentication)."""
    principal = state.get("principal")
    values = {
        "request_id": state.get("request_id"),
        "tenant": getattr(principal, "tenant", None),
        "key_id": getattr(principal, "key_id", None),
    }
    return {k: v for k, v in values.items() if isinstance(v, str)}


class ObservabilityMiddleware:
    """Times each HTTP request until its last body chunk (streams included), counts it by
    route template and status (500 when the app raised before answering), and writes one
    ``ragtrust.access`` record. Place it outside ``BodySizeLimitMiddleware`` so its 413s
    are seen as responses, not as exceptions."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        token = _request_state.set(state)
        start = time.perf_counter()
        status, ended, error = 500, 0.0, ""

        async def timed_send(message: Message) -> None:
            nonlocal status, ended
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                ended = time.perf_counter()

        try:
            await self.app(scope, receive, timed_send)
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            seconds = (ended or time.perf_counter()) - start
            method, route = method_label(scope["method"]), route_template(scope)
            self.metrics.observe_request(method, route, status, seconds)
            ms = round(seconds * 1000, 2)
            fields: dict[str, Any] = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": ms,
                **request_context(state),
            }
            if error:
                fields["error"] = error
            level = logging.ERROR if status >= 500 else logging.INFO
            access_log.log(level, "%s %s %d %.1f ms", method, route, status, ms, extra=fields)
            _request_state.reset(token)


class RequestContextFilter(logging.Filter):
    """Adds request_id/tenant/key_id to every record emitted inside a request. Attach it to
    handlers, not loggers: a logger's filters miss records propagated from its children."""

    def filter(self, record: logging.LogRecord) -> bool:
        state = _request_state.get()
        if state is not None:
            for key, value in request_context(state).items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class TextFormatter(logging.Formatter):
    """For humans at a terminal: one line, the request's fields at the end when there are
    any (``[req_1 tenant=acme key_id=k1]``)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        rid = getattr(record, "request_id", None)
        fields = [rid] if rid else []
        fields += [f"{k}={v}" for k in ("tenant", "key_id") if (v := getattr(record, k, None))]
        return f"{line} [{' '.join(fields)}]" if fields else line


def wants_json(log_format: LogFormat, stream: IO[str]) -> bool:
    """``auto`` means text only where a person reads the stream as it is written; a file, a
    pipe or a container's log collector gets JSON, which is what log shippers parse."""
    if log_format != "auto":
        return log_format == "json"
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):  # no stream (None), or a closed one
        return True


def make_formatter(
    log_format: LogFormat = "auto", stream: IO[str] | None = None
) -> logging.Formatter:
    """The formatter for ``stream`` (the handler's, stderr unless given). Decided when
    logging is configured, so the dictConfig schema keeps a name, not a stream object."""
    if not wants_json(log_format, sys.stderr if stream is None else stream):
        return TextFormatter()
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
        # uvicorn duplicates each message with ANSI colours in this attribute.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def logging_config(level: str = "INFO", log_format: LogFormat = "auto") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` schema: one stderr handler on the root logger that
    every logger (uvicorn's included) propagates to. Pass it to ``uvicorn.run(log_config=...,
    access_log=False)`` so each worker process applies it; ``ragtrust.access`` replaces
    uvicorn's access log, which would log raw paths with their query strings."""
    # Raised to WARNING at INFO; at DEBUG they follow the level asked for, as above WARNING.
    quiet = "WARNING" if logging.DEBUG < logging.getLevelName(level) < logging.WARNING else level
    return {
        "version": 1,
        "disable_existing_loggers": False,  # loggers created at import time keep working
        # Dotted names, not objects, so the dict can also be dumped to a --log-config file.
        "filters": {"request": {"()": f"{__name__}.RequestContextFilter"}},
        "formatters": {"default": {"()": f"{__name__}.make_formatter", "log_format": log_format}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request"],
            },
        },
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
            **{name: {"level": quiet} for name in QUIET_LOGGERS},
        },
    }


def configure_logging(level: str = "INFO", log_format: LogFormat = "auto") -> None:
    logging.config.dictConfig(logging_config(level, log_format))
