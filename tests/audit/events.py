"""Audit events that use every field, with the values that break naive CSV and JSON handling
(commas, quotes, newlines, non-ASCII, None beside values, int-valued floats)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from audit.records import AuditEvent, AuditQuote

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _quote(i: int) -> AuditQuote:
    text = '<PERSON_1> said "no", twice,\nÜber €'
    return AuditQuote(source=1, document_id=f"doc-{i}", chunk_id=f"doc-{i}#0", start=0,
                      end=len(text), text=text, support=1.0)  # fmt: skip


def event(i: int, tenant: str = "acme", at: datetime | None = None) -> AuditEvent:
    failed = i % 4 == 3
    return AuditEvent(
        timestamp=at or T0 + timedelta(seconds=i, microseconds=i),
        request_id=f"req-{i:05d}",
        tenant=tenant,
        key_id=f"k{i % 3:011x}" if i % 5 else None,
        role=("user", "admin", "auditor")[i % 3],
        route="/v1/answer" if i % 2 else "/v1/chat/completions",
        status="error" if failed else "ok",
        http_status=503 if failed else 200,
        error_code="llm_timeout" if failed else None,
        question=f'Q{i}: what did <PERSON_1> say, "exactly", about <EMAIL_ADDRESS_1>?\nÜber €',
        answer="" if failed else f"<PERSON_1> said no, twice; see [1].\r\nZeile {i}",
        document_ids=[f"doc-{i}", "hr/policy.md"],
        chunk_ids=[f"doc-{i}#0", f"doc-{i}#1"],
        model="smollm2-135m-instruct-int8",
        precision="int8",
        trust_score=None if failed else 0.1 + i / 7,
        trust_flagged=None if failed else i % 2 == 0,
        trust_preset="balanced",
        pii_counts={"PERSON": 1, "EMAIL_ADDRESS": i % 2},
        usage={"prompt_tokens": 100 + i, "completion_tokens": i, "trust_tokens": 3 * i},
        timings_ms={"retrieval": 1.5 + i, "generation": 20.0, "total": 1 / 3},
        cost={"usd": 1e-6 * i, "cpu_s": 2.0},
        quotes=[] if failed or i % 2 == 0 else [_quote(i)],
    )
