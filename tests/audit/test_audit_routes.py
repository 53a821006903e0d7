"""The audit routes on their own: a FastAPI app with just the audit router, real API keys
and a real audit log on each database. (Through the whole service, with records written by
the answer routes: test_audit_api.py.)"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, update
from sqlalchemy.engine import Engine

from audit import export, seal
from audit.log import RECORDS, AuditLog
from audit.records import ExportFormat
from rag.api import errors as http_errors
from rag.api.admission import ExportSlots, KeyAdmissionMiddleware
from rag.api.audit_routes import router
from rag.api.middleware import RequestIdMiddleware
from rag.api.observability import Metrics
from rag.api.ratelimit import KeyRateLimiter
from rag.api.recorder import Recorder
from rag.keys import KeyStore
from rag.tenants import SqlTenantRegistry
from tests.audit.conftest import KEY
from tests.audit.events import event


@dataclass
class RouteState:
    """What the audit routes and their auth read from ``app.state.ragtrust``."""

    keys: KeyStore
    rate_limiter: KeyRateLimiter
    audit: AuditLog
    recorder: Recorder
    export_slots: ExportSlots


async def _ignore_failure(request: Request, status: int, code: str) -> None:
    """The service records failures in the audit log; these tests look at the routes only."""


@pytest.fixture
def client(engine: Engine, audit_log: AuditLog) -> Iterator[TestClient]:
    tenants = SqlTenantRegistry(engine)
    for name in ("acme", "beta"):
        tenants.create(name)
    app = FastAPI()
    http_errors.install(app, on_failure=_ignore_failure)
    app.include_router(router)
    app.add_middleware(KeyAdmissionMiddleware, max_in_flight=4)
    app.add_middleware(RequestIdMiddleware)
    recorder = Recorder(audit_log, Metrics(), "model", None)
    app.state.ragtrust = RouteState(
        KeyStore(engine), KeyRateLimiter(""), audit_log, recorder, ExportSlots(4)
    )
    for i in range(5):
        audit_log.append(event(i, "acme"))
    audit_log.append(event(9, "beta"))
    with TestClient(app) as c:
        yield c


def _auth(client: TestClient, tenant: str = "acme", role: str = "auditor") -> dict[str, str]:
    keys: KeyStore = client.app.state.ragtrust.keys  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {keys.create(tenant, role).secret}"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_auditor_exports_its_own_tenants_records(client: TestClient, fmt: ExportFormat) -> None:
    resp = client.get("/v1/audit/export", params={"format": fmt}, headers=_auth(client))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(export.MEDIA_TYPES[fmt])
    assert f'filename="audit-acme.{fmt}"' in resp.headers["content-disposition"]
    records = list(export.read(io.StringIO(resp.text, newline=""), fmt))
    assert [(r.tenant, r.seq) for r in records] == [("acme", s) for s in range(1, 6)]
    assert seal.check(export.items(io.StringIO(resp.text, newline=""), fmt), KEY).status == "whole"


def test_export_takes_from_and_to(client: TestClient) -> None:
    params = {"from": "2025-03-01T12:00:01.5Z", "to": "2025-03-01T13:00:03+01:00"}
    resp = client.get("/v1/audit/export", params=params, headers=_auth(client))
    assert resp.status_code == 200, resp.text
    assert [r.seq for r in export.read(resp.text.splitlines(), "jsonl")] == [3]
    params = {"from": "2025-03-02", "to": "2025-03-01"}
    resp = client.get("/v1/audit/export", params=params, headers=_auth(client))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_request"


def test_verify_reports_the_callers_tenant(client: TestClient, engine: Engine) -> None:
    resp = client.get("/v1/audit/verify", headers=_auth(client, "beta"))
    assert resp.status_code == 200
    assert resp.json() | {"broken": None} == {
        "tenant": "beta", "ok": True, "records": 1, "first_seq": 1, "last_seq": 1,
        "checkpoint_seq": None, "pruned": 0, "broken": None,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(update(RECORDS).where(RECORDS.c.seq == 2).values(answer="edited"))
    body = client.get("/v1/audit/verify", headers=_auth(client)).json()
    assert body["ok"] is False and body["broken"]["seq"] == 2


@pytest.mark.parametrize("role", ["user", "admin"])
@pytest.mark.parametrize("path", ["/v1/audit/export", "/v1/audit/verify"])
def test_only_the_auditor_role_reads_the_audit_log(
    client: TestClient, role: str, path: str
) -> None:
    resp = client.get(path, headers=_auth(client, role=role))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "permission_denied"
    assert client.get(path).status_code == 401


def test_openapi_documents_both_export_formats(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    export_op = spec["paths"]["/v1/audit/export"]["get"]
    assert set(export_op["responses"]["200"]["content"]) == {"application/x-ndjson", "text/csv"}
    assert {p["name"] for p in export_op["parameters"]} == {"from", "to", "format"}
    assert export_op["tags"] == ["audit"]
    verify_ok = spec["paths"]["/v1/audit/verify"]["get"]["responses"]["200"]
    assert verify_ok["content"]["application/json"]["schema"]["$ref"].endswith("TenantReport")


def test_exports_over_the_limit_get_503_with_retry_after(client: TestClient) -> None:
    headers = _auth(client)
    slots = ExportSlots(2)
    client.app.state.ragtrust.export_slots = slots  # type: ignore[attr-defined]
    slots.taken = 2  # two exports still streaming to slow readers
    resp = client.get("/v1/audit/export", headers=headers)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "too_many_exports"
    assert int(resp.headers["retry-after"]) > 0
    slots.give_back()
    assert client.get("/v1/audit/export", headers=headers).status_code == 200
    assert slots.taken == 1  # the finished export gave its slot back


def test_an_exhausted_connection_pool_is_a_503_not_a_500(client: TestClient, db_url: str) -> None:
    headers = _auth(client)
    small = create_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    state: RouteState = client.app.state.ragtrust  # type: ignore[attr-defined]
    state.keys = KeyStore(small)
    try:
        with small.connect():  # the pool's only connection, held elsewhere
            resp = client.get("/v1/audit/verify", headers=headers)
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"]["code"] == "database_unavailable"
        assert int(resp.headers["retry-after"]) > 0
    finally:
        small.dispose()
