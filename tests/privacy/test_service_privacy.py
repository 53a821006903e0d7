"""End to end through the real service, the real vLLM server and a recording proxy between
them: no detected PII reaches the LLM or the logs, and the user gets the values back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.privacy.recording_proxy import RecordingProxy
from tests.support import LLMEndpoint, Service

pytestmark = pytest.mark.integration

PII = {
    "PERSON": ["Margaret Thornbury", "Tomasz Wiśniewski"],
    "EMAIL_ADDRESS": ["margaret.thornbury@example.com"],
    "PHONE_NUMBER": ["+1-202-555-0178"],
    "US_SSN": ["536-22-8412"],
    "IBAN_CODE": ["GB33BUKB20201555555555"],
    "IP_ADDRESS": ["10.20.30.40"],
    "STREET_ADDRESS": ["41 Rue de la Paix"],
}
DOC = """# Benefits contacts

The benefits officer is Margaret Thornbury. Her e-mail address is
margaret.thornbury@example.com and her phone number is +1-202-555-0178.

Payroll questions go to Tomasz Wiśniewski, who works at 41 Rue de la Paix, Paris.
Reimbursements are paid to the IBAN GB33BUKB20201555555555. The payroll VPN gateway is
10.20.30.40. The test employee record uses the SSN 536-22-8412.
"""
QUESTION = (
    "What is the e-mail address of the benefits officer Margaret Thornbury? "
    "Copy it exactly from the sources."
)
PLACEHOLDER = re.compile(r"<([A-Z_]+)_(\d+)>")


@pytest.fixture(scope="module")
def proxy(llm: LLMEndpoint) -> Iterator[RecordingProxy]:
    p = RecordingProxy(llm.base_url.removesuffix("/v1")).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def pii_service(
    service_factory: Callable[..., Service], llm: LLMEndpoint, proxy: RecordingProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Service:  # fmt: skip
    docs: Path = tmp_path_factory.mktemp("pii-docs")
    (docs / "benefits-contacts.md").write_text(DOC)
    svc = service_factory("privacy", f"{proxy.url}/v1", llm.model)
    for tenant in ("pii", "strict"):
        for args in (("tenants", "create", tenant), ("ingest", str(docs), "--tenant", tenant)):
            done = svc.cli(*args)
            assert done.returncode == 0, done.stderr
    done = svc.cli("privacy", "policy", "set", "strict", '{"actions": {"US_SSN": "block"}}')
    assert done.returncode == 0, done.stderr
    return svc


def _values() -> list[str]:
    return [v for vs in PII.values() for v in vs]


def test_only_placeholders_reach_the_llm_and_the_user_gets_values(
    pii_service: Service, proxy: RecordingProxy
) -> None:
    before = len(proxy.requests)
    with pii_service.client("pii") as c:
        resp = c.post("/v1/answer", json={"question": QUESTION, "top_k": 3})
    assert resp.status_code == 200, resp.text
    body = resp.json()

    sent = [r for r in proxy.requests[before:] if "chat" in r or "messages" in r]
    assert sent, "the request never reached the LLM"
    prompt = "\n".join(json.loads(r)["messages"][-1]["content"] for r in sent)
    for value in _values():
        assert value not in "".join(proxy.requests[before:]), f"{value!r} reached the LLM"
    assert "<PERSON_1>" in prompt and "<EMAIL_ADDRESS_1>" in prompt

    assert body["privacy"]["entities"]["PERSON"] >= 2
    assert body["privacy"]["entities"]["EMAIL_ADDRESS"] == 1
    assert body["timings_ms"]["privacy"] > 0
    # What the model wrote used placeholders; what the user reads has the values.
    llm_text = "".join(
        json.loads(r)["choices"][0]["message"]["content"]
        for r in proxy.responses[before:]
        if r.startswith("{") and "choices" in r
    )
    assert PLACEHOLDER.search(llm_text), f"model used no placeholder: {llm_text!r}"
    # Every placeholder the request made is restored; one the model made up (a number the
    # prompt never had, as the 135M model does under load) stands for no value.
    made = {m.group(0) for m in PLACEHOLDER.finditer(prompt)}
    left = {m.group(0) for m in PLACEHOLDER.finditer(body["answer"])}
    assert not made & left, body["answer"]
    assert any(v in body["answer"] for v in _values()), body["answer"]
    # Citations are shown inside the boundary: original text.
    assert any("Margaret Thornbury" in c["snippet"] for c in body["citations"])


def test_no_pii_in_the_service_logs(pii_service: Service, proxy: RecordingProxy) -> None:
    with pii_service.client("pii") as c:
        c.post("/v1/answer", json={"question": "Is 536-22-8412 the SSN of Tomasz Wiśniewski?"})
        c.post("/v1/answer", json={"question": "x" * 5000 + " Margaret Thornbury"})
    log = pii_service.log()
    assert "POST /v1/answer" in log
    for value in _values():
        assert value not in log, f"{value!r} is in the service log"


def test_blocked_type_is_a_422_naming_the_type_only(pii_service: Service) -> None:
    with pii_service.client("strict") as c:
        resp = c.post("/v1/answer", json={"question": "Whose SSN is 536-22-8412?"})
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "pii_blocked" and "US_SSN" in err["message"]
    assert "536-22-8412" not in resp.text


def test_cli_redact_shows_what_would_leave(pii_service: Service) -> None:
    done = pii_service.cli("privacy", "redact", "Mail margaret.thornbury@example.com", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["text"] == "Mail <EMAIL_ADDRESS_1>" and out["entities"] == {"EMAIL_ADDRESS": 1}


def test_extractive_answers_quote_values_but_only_placeholders_leave(
    pii_service: Service, proxy: RecordingProxy
) -> None:
    """The quote the user reads holds the name and the phone number; the samples' prompt and
    the audit record hold placeholders, and an export shows no raw value."""
    before = len(proxy.requests)
    question = "What is the phone number of the benefits officer?"
    with pii_service.client("pii") as c:
        resp = c.post("/v1/answer", json={"question": question, "answer_mode": "extractive"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["answer_mode"] == "extractive"
    assert "+1-202-555-0178" in body["answer"], body["answer"]
    assert any("+1-202-555-0178" in q["text"] for q in body["quotes"]), body["quotes"]
    sent = "".join(proxy.requests[before:])
    assert body["trust"]["samples"] > 0 and sent, "no samples were drawn"
    for value in _values():
        assert value not in sent, f"{value!r} reached the LLM"
    assert "<PHONE_NUMBER_1>" in sent

    with pii_service.client("pii", "auditor") as c:
        export = c.get("/v1/audit/export", params={"format": "jsonl"})
    assert export.status_code == 200, export.text
    *records, sealed = [json.loads(line) for line in export.text.splitlines() if line.strip()]
    assert "_seal" in sealed
    mine = [r for r in records if r["request_id"] == body["request_id"]]
    assert len(mine) == 1
    assert "<PHONE_NUMBER_" in mine[0]["answer"], mine[0]["answer"]
    stored = mine[0]["quotes"]
    assert [(q["chunk_id"], q["start"], q["end"]) for q in stored] == [
        (q["chunk_id"], q["start"], q["end"]) for q in body["quotes"]
    ]
    assert any("<PHONE_NUMBER_" in q["text"] for q in stored), stored
    for value in _values():
        assert value not in export.text, f"{value!r} is in the audit export"
