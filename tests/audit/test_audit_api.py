"""The audit log through the real service: every request leaves one record (failed ones
too), with the question and answer redacted, and no raw PII in any column; an auditor
exports and verifies its own tenant's chain over HTTP.

Needs the service to write a record per request (service.py, issue 7 wiring)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest

from audit import export
from audit.records import AuditRecord, ExportFormat
from tests.privacy.test_service_privacy import DOC, PII, QUESTION
from tests.support import Service

pytestmark = pytest.mark.integration

TENANT = "auditpii"
VALUES = [v for vs in PII.values() for v in vs]
CHAT_QUESTION = "Who handles payroll, Tomasz Wiśniewski? Is his IBAN GB33BUKB20201555555555?"


Sent = dict[str, tuple[int, str | None]]  # request id -> (HTTP status, error code)


@pytest.fixture(scope="module")
def sent(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Sent:
    """Requests with PII through /v1/answer, streamed chat and a blocked question. On a busy
    machine an LLM call may time out: that request is then a failed one, recorded too."""
    docs: Path = tmp_path_factory.mktemp("audit-docs")
    (docs / "benefits-contacts.md").write_text(DOC)
    for args in (
        ("tenants", "create", TENANT),
        ("ingest", str(docs), "--tenant", TENANT),
        ("privacy", "policy", "set", TENANT, '{"actions": {"US_SSN": "block"}}'),
    ):
        done = service.cli(*args)
        assert done.returncode == 0, done.stderr
    ids: Sent = {}

    def record(resp: httpx.Response) -> None:
        code = None if resp.status_code == 200 else resp.json()["error"]["code"]
        ids[resp.headers["x-request-id"]] = (resp.status_code, code)

    with service.client(TENANT, "user") as c:
        record(c.post("/v1/answer", json={"question": QUESTION, "trust_preset": "fast"}))
        chat = {"model": "ragtrust", "stream": True, "ragtrust": {"trust_preset": "fast"},
                "messages": [{"role": "user", "content": CHAT_QUESTION}]}  # fmt: skip
        with c.stream("POST", "/v1/chat/completions", json=chat) as resp:
            resp.read()
        ids[resp.headers["x-request-id"]] = (resp.status_code, None)  # errors come as events
        record(c.post("/v1/answer", json={"question": "Is 536-22-8412 Margaret Thornbury's SSN?"}))
    assert list(ids.values())[-1] == (422, "pii_blocked"), ids
    return ids


def _export(service: Service, fmt: ExportFormat = "jsonl") -> httpx.Response:
    with service.client(TENANT, "auditor") as c:
        return c.get("/v1/audit/export", params={"format": fmt})


def _records(service: Service, fmt: ExportFormat = "jsonl") -> list[AuditRecord]:
    resp = _export(service, fmt)
    assert resp.status_code == 200, resp.text
    return list(export.read(io.StringIO(resp.text, newline=""), fmt))


def test_every_request_leaves_one_record(service: Service, sent: Sent) -> None:
    records = {r.request_id: r for r in _records(service)}
    assert set(sent) <= set(records)
    key_id = service.key(TENANT, "user").removeprefix("rt_").split("_", 1)[0]
    for request_id, (status, code) in sent.items():
        rec = records[request_id]
        assert (rec.tenant, rec.role, rec.key_id) == (TENANT, "user", key_id)
        assert rec.route in ("/v1/answer", "/v1/chat/completions")
        if rec.route == "/v1/answer":  # a stream's status is 200 even when an error event ends it
            assert rec.http_status == status
        if code == "pii_blocked":
            assert (rec.status, rec.http_status, rec.error_code) == ("error", 422, code)
            assert rec.question == "" and rec.answer == ""
            continue
        assert "<PERSON_1>" in rec.question  # as the LLM saw it
        assert rec.document_ids and rec.chunk_ids and rec.pii_counts.get("PERSON", 0) >= 1
        if rec.status == "ok":
            assert rec.http_status == 200 and rec.error_code is None
            assert rec.model and rec.trust_preset == "fast" and rec.trust_score is not None
            assert rec.usage.get("prompt_tokens", 0) > 0 and rec.timings_ms.get("total", 0) > 0
            assert rec.cost.get("total", -1) >= 0
        else:  # an LLM timeout on a busy machine: recorded as what the caller got
            assert rec.error_code and rec.http_status >= 500


def test_no_raw_pii_in_any_column(service: Service, sent: Sent) -> None:
    with sqlite3.connect(service.data_dir / "ragtrust.db") as db:
        rows: list[tuple[Any, ...]] = db.execute("SELECT * FROM audit_records").fetchall()
    assert len(rows) >= len(sent)
    cells = "\n".join(str(cell) for row in rows for cell in row)
    for value in VALUES:
        assert value not in cells, f"{value!r} is stored in the audit log"
    for fmt in get_args(ExportFormat):
        text = _export(service, fmt).text
        assert not [v for v in VALUES if v in text], fmt


def test_both_export_formats_carry_the_same_records(service: Service, sent: dict[str, int]) -> None:
    csv, jsonl = _records(service, "csv"), _records(service, "jsonl")
    # The csv export is itself audited: the later jsonl export holds its record too.
    assert jsonl[: len(csv)] == csv
    assert [(r.route, r.role) for r in jsonl[len(csv) :]] == [("/v1/audit/export", "auditor")]


def test_an_auditor_verifies_the_tenants_chain(service: Service, sent: Sent) -> None:
    with service.client(TENANT, "auditor") as c:
        body = c.get("/v1/audit/verify").json()
    assert body["ok"] is True and body["tenant"] == TENANT and body["records"] >= len(sent)
    done = service.cli("audit", "verify", "--tenant", TENANT)
    assert done.returncode == 0 and f"{TENANT}:" in done.stdout, done.stderr


def test_an_auditor_sees_only_its_own_tenant(service: Service, sent: Sent) -> None:
    with service.client("demo", "auditor") as c:
        text = c.get("/v1/audit/export").text
    assert all(r.tenant == "demo" for r in export.read(text.splitlines(), "jsonl"))
    assert not set(sent) & {r.request_id for r in export.read(text.splitlines(), "jsonl")}
