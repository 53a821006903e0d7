"""The documents API end to end: a real service process, real loaders, FAISS and BM25 indexes
on disk, and the real vLLM answering from what was uploaded."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pdf_maker import make_pdf
from tests.support import LLMEndpoint, Service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def docs_service(service_factory: Callable[..., Service], llm: LLMEndpoint) -> Service:
    svc = service_factory("documents", llm.base_url, llm.model,
                          RAGTRUST_MAX_DOCUMENT_BYTES="50000")  # fmt: skip
    for name in ("acme", "globex"):
        assert svc.cli("tenants", "create", name).returncode == 0
    return svc


def _ids(svc: Service, tenant: str) -> dict[str, int]:
    with svc.client(tenant) as c:
        resp = c.get("/v1/documents")
    assert resp.status_code == 200, resp.text
    return {d["id"]: d["chunks"] for d in resp.json()["documents"]}


def test_json_documents_are_indexed_and_answer_questions(docs_service: Service) -> None:
    body = {"documents": [
        {"id": "fleet", "title": "Fleet policy", "text": "Company cars are replaced every "
         "four years or at 160,000 km, whichever comes first.", "source": "policies"},
        {"id": "canteen", "text": "The canteen opens at 11:30 and closes at 14:00."},
    ]}  # fmt: skip
    with docs_service.client("acme") as c:
        resp = c.post("/v1/documents", json=body)
        assert resp.status_code == 200, resp.text
        out = resp.json()
        assert (out["indexed"], out["failed"]) == (2, 0)
        answer = c.post("/v1/answer", json={"question": "When are company cars replaced?"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["citations"][0]["document_id"] == "fleet"


def test_answers_respect_filters_and_mode(docs_service: Service) -> None:
    question = {"question": "When are company cars replaced?", "top_k": 2}
    with docs_service.client("acme") as c:
        only = c.post("/v1/answer", json={**question, "filters": {"document_ids": ["canteen"]}})
        lexical = c.post("/v1/answer", json={**question, "mode": "bm25"})
        bad = c.post("/v1/answer", json={**question, "mode": "fuzzy"})
    assert only.status_code == 200, only.text
    assert {x["document_id"] for x in only.json()["citations"]} == {"canteen"}
    assert lexical.json()["citations"][0]["document_id"] == "fleet"
    assert bad.status_code == 422


def test_uploads_of_every_format_and_bad_files_do_not_stop_the_batch(
    docs_service: Service,
) -> None:
    files = [
        ("files", ("notes.md", b"# Notes\n\nParking is free for cyclists.", "text/markdown")),
        (
            "files",
            (
                "page.html",
                b"<html><title>Gym</title><body><p>The gym is on floor 3."
                b"</p><script>x()</script></body></html>",
                "text/html",
            ),
        ),  # fmt: skip
        (
            "files",
            (
                "guide.pdf",
                make_pdf(["Badges are renewed yearly.", "Lost badges cost 15 EUR."]),
                "application/pdf",
            ),
        ),  # fmt: skip
        ("files", ("empty.txt", b"   ", "text/plain")),
        ("files", ("blob.txt", b"\x00\x01\x02binary", "text/plain")),
        ("files", ("photo.png", b"\x89PNG\r\n", "image/png")),
        ("files", ("huge.txt", b"word " * 20_000, "text/plain")),
    ]
    with docs_service.client("acme") as c:
        resp = c.post("/v1/documents", files=files)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    status = {d["id"]: d for d in out["documents"]}
    assert {i for i, d in status.items() if d["status"] == "indexed"} == {
        "notes.md",
        "page.html",
        "guide.pdf",
    }
    for bad in ("empty.txt", "blob.txt", "photo.png", "huge.txt"):
        assert status[bad]["status"] == "failed" and status[bad]["error"], bad
        assert "Traceback" not in status[bad]["error"]
    assert "limit" in status["huge.txt"]["error"]
    assert {"notes.md", "page.html", "guide.pdf"} <= set(_ids(docs_service, "acme"))


def test_a_file_its_parser_fails_on_fails_alone(docs_service: Service) -> None:
    """Deeply nested JSONL (RecursionError), a truncated PDF: each is reported, the rest of
    the upload lands (it used to be a 500 for all of them)."""
    files = [
        ("files", ("deep.jsonl", b'{"id": "d", "text": ' + b"[" * 20_000, "application/jsonl")),
        ("files", ("cut.pdf", make_pdf(["Lockers are free."])[:150], "application/pdf")),
        ("files", ("lockers.txt", b"Lockers are on floor 2.", "text/plain")),
    ]
    with docs_service.client("acme") as c:
        resp = c.post("/v1/documents", files=files)
    assert resp.status_code == 200, resp.text
    status = {d["id"]: d["status"] for d in resp.json()["documents"]}
    assert status == {"deep.jsonl": "failed", "cut.pdf": "failed", "lockers.txt": "indexed"}


def test_a_json_document_with_a_title_over_the_limit_fails_alone(docs_service: Service) -> None:
    long = {"id": "long-title", "title": "T" * 501, "text": "Some text."}
    body = {"documents": [long, {"id": "short-title", "title": "Desks", "text": "Desks."}]}
    with docs_service.client("globex") as c:
        resp = c.post("/v1/documents", json=body)
    assert resp.status_code == 200, resp.text
    results = {d["id"]: d for d in resp.json()["documents"]}
    assert results["short-title"]["status"] == "indexed"
    assert results["long-title"]["status"] == "failed"
    assert "RAGTRUST_MAX_TITLE_CHARS" in results["long-title"]["error"]


def test_a_tenant_over_its_quota_gets_a_409_and_nothing_is_indexed(
    docs_service: Service,
) -> None:
    """The tenant's own quota (`ragtrust tenants set --max-documents`) over the service's."""
    assert docs_service.cli("tenants", "create", "small").returncode == 0
    assert docs_service.cli("tenants", "set", "small", "--max-documents", "2").returncode == 0
    docs = [{"id": f"d{i}", "text": f"Room {i} has a projector."} for i in range(3)]
    with docs_service.client("small") as c:
        over = c.post("/v1/documents", json={"documents": docs})
        fits = c.post("/v1/documents", json={"documents": docs[:2]})
        again = c.post("/v1/documents", json={"documents": docs[:1]})  # replaces: still 2
        more = c.post("/v1/documents", json={"documents": docs[2:]})
    assert over.status_code == 409 and over.json()["error"]["code"] == "quota_exceeded"
    assert "3 documents (quota 2)" in over.json()["error"]["message"]
    assert fits.status_code == 200 and again.status_code == 200, (fits.text, again.text)
    assert more.status_code == 409
    assert set(_ids(docs_service, "small")) == {"d0", "d1"}


def test_reingesting_replaces_and_delete_removes_from_every_index(docs_service: Service) -> None:
    long_text = "Expense reports are due monthly. " * 40
    with docs_service.client("acme") as c:
        c.post("/v1/documents", json={"documents": [{"id": "exp", "text": long_text}]})
        first = _ids(docs_service, "acme")["exp"]
        c.post("/v1/documents", json={"documents": [{"id": "exp", "text": "Due weekly now."}]})
        assert first > 1 and _ids(docs_service, "acme")["exp"] == 1
        resp = c.delete("/v1/documents/exp")
        assert resp.status_code == 200 and resp.json() == {"id": "exp", "deleted_chunks": 1}
        assert "exp" not in _ids(docs_service, "acme")
        again = c.delete("/v1/documents/exp")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"


def test_tenants_are_isolated(docs_service: Service) -> None:
    with docs_service.client("globex") as c:
        c.post("/v1/documents", json={"documents": [{"id": "secret", "text": "Globex only."}]})
        assert c.delete("/v1/documents/fleet").status_code == 404  # acme's document
    assert "secret" not in _ids(docs_service, "acme")
    assert "fleet" not in _ids(docs_service, "globex")


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        pytest.param(
            {"content": b'{"documents": [', "headers": {"Content-Type": "application/json"}},
            422,
            "validation_error",
            id="malformed-json",
        ),  # fmt: skip
        pytest.param({"json": {"documents": []}}, 422, "validation_error", id="no-documents"),
        pytest.param(
            {"json": {"documents": [{"id": "x"}]}}, 422, "validation_error", id="missing-text"
        ),  # fmt: skip
        pytest.param({"json": {"docs": []}}, 422, "validation_error", id="unknown-field"),
        pytest.param(
            {"files": [("other", ("a.txt", b"x", "text/plain"))]},
            422,
            "validation_error",
            id="form-without-files",
        ),  # fmt: skip
        pytest.param(
            {"content": b"x" * 200_000, "headers": {"Content-Type": "text/plain"}},
            413,
            "body_too_large",
            id="oversized-body",
        ),  # fmt: skip
    ],
)
def test_bad_requests_get_a_clear_error(
    docs_service: Service, kwargs: dict, status: int, code: str
) -> None:
    with docs_service.client("acme") as c:
        resp = c.post("/v1/documents", **kwargs)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code
    assert "Traceback" not in resp.text


def test_an_empty_json_document_is_reported(docs_service: Service) -> None:
    with docs_service.client("acme") as c:
        resp = c.post("/v1/documents", json={"documents": [{"id": "blank", "text": "  "}]})
    assert resp.status_code == 200
    assert resp.json()["documents"][0] == {"id": "blank", "status": "failed", "chunks": 0,
                                           "error": "document 'blank' has no text"}  # fmt: skip


def test_documents_need_a_key(docs_service: Service) -> None:
    with docs_service.client(None) as c:
        assert c.get("/v1/documents").status_code == 401
        resp = c.post("/v1/documents", json={"documents": [{"id": "a", "text": "b"}]})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"


def test_cli_ingests_folders_of_every_format_and_skips_bad_files(
    docs_service: Service, tmp_path: Path
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("# Bikes\n\nBike racks are behind building C.")
    (tmp_path / "sub" / "b.html").write_text("<h1>Lockers</h1><p>Lockers close at 22:00.</p>")
    (tmp_path / "c.pdf").write_bytes(make_pdf(["Visitors sign in at reception."]))
    (tmp_path / "bulk.jsonl").write_text(
        json.dumps({"_id": "j1", "title": "Mail", "text": "Mail is sorted at 9."}) + "\n"
    )
    (tmp_path / "empty.txt").write_text("")
    done = docs_service.cli("ingest", str(tmp_path), "--tenant", "globex")
    assert done.returncode == 0, done.stderr
    assert "empty.txt" in done.stderr and "skipped" in done.stderr
    assert "4 documents" in done.stderr
    assert {"a.md", "sub/b.html", "c.pdf", "j1"} <= set(_ids(docs_service, "globex"))


def test_cli_ingest_keeps_the_file_limits_and_the_tenants_quota(
    docs_service: Service, tmp_path: Path
) -> None:
    """The operator's path is no way around what the API enforces."""
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "long.pdf").write_bytes(make_pdf(["one", "two", "three"]))
    (tmp_path / "files" / "parking.md").write_text("# Parking\n\nParking is free on Sundays.")
    done = docs_service.cli(
        "ingest", str(tmp_path / "files"), "--tenant", "globex", RAGTRUST_MAX_PDF_PAGES="2"
    )
    assert done.returncode == 0, done.stderr
    assert "long.pdf" in done.stderr and "2-page limit" in done.stderr
    held = _ids(docs_service, "globex")
    assert "parking.md" in held and "long.pdf" not in held

    (tmp_path / "more.md").write_text("# Lunch\n\nThe canteen opens at noon.")
    full = str(len(held))  # the tenant is at its quota
    over = docs_service.cli(
        "ingest", str(tmp_path / "more.md"), "--tenant", "globex",
        RAGTRUST_MAX_TENANT_DOCUMENTS=full,
    )  # fmt: skip
    assert over.returncode == 1
    assert "quota" in over.stderr and "Traceback" not in over.stderr
    assert "more.md" not in _ids(docs_service, "globex")
