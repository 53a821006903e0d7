"""``ragtrust eval qa``: SQuAD answered end to end by the whole AnswerPipeline (retrieval,
privacy, generation, trust), each answer's trust score judged against its correctness.

Every paragraph of the file is indexed into a temporary tenant (a temporary data dir with
its own SQLite tenants DB; the index in ``retrieval.beir``'s own temporary folder), never the
real ``data/``. An answer is correct when it says what a reader asked for and little else:
the normalized gold span occurs in it, and it is at most two units (sentences, list items,
table rows) and at most 60 words. Token-F1 is kept as ``f1``. The questions run a few at a
time: vLLM batches what arrives together.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from rag.core.errors import RagtrustError
from rag.core.settings import Settings, get_settings
from rag.pipeline import AnswerPipeline
from rag.protocol import AnswerMode, AnswerRequest, AnswerResponse
from rag.squad import contains, f1_score
from rag.tenants import SqlTenantRegistry
from retrieval.beir import TENANT, index_corpus
from retrieval.retriever import Retriever
from trust.evaluate import auroc, ece
from trust.presets import PresetName
from trust.runs import Progress, Record, _bounded
from trust.text import sentences, strip_citations

MAX_UNITS, MAX_WORDS = 2, 60
EVAL_LLM_TIMEOUT_S = 900.0  # a batch queues far more requests than a user does


def answer_units(resp: AnswerResponse) -> int:
    """How many units the answer is: the quoted ones of an extractive answer, the sentences
    of a written one."""
    if resp.answer_mode == "extractive":
        return len(resp.quotes)
    return len(sentences(strip_citations(resp.answer)))


def is_correct(answer: str, golds: Sequence[str], units: int) -> bool:
    """The contract's rule: the gold span in the answer, at most two units, 60 words."""
    words = len(strip_citations(answer).split())
    return _contained(answer, golds) and units <= MAX_UNITS and words <= MAX_WORDS


def selective_accuracy(
    labels: Sequence[int], scores: Sequence[float], coverage: float
) -> float | None:
    """Accuracy on the ``coverage`` share (0..1) of answers with the highest trust (ties keep
    the input order); None when there are none."""
    if not labels:
        return None
    keep = max(1, round(coverage * len(labels)))
    top = sorted(range(len(labels)), key=lambda i: -scores[i])[:keep]
    return sum(labels[i] for i in top) / keep


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def qa_metrics(records: Sequence[Record]) -> dict[str, Any]:
    """The contract keys over the answered questions (trust metrics over the scored ones),
    plus a few diagnostics."""
    done = [r for r in records if "error" not in r]
    scored = [r for r in done if r["score"] is not None]
    labels, scores = [r["label"] for r in scored], [float(r["score"]) for r in scored]
    lat = [r["latency_s"] for r in done]
    modes = sorted({r["answer_mode"] for r in done})
    return {
        "accuracy": _mean(done, "label"),
        "f1": _mean(done, "f1"),
        "auroc": _round(auroc(labels, scores)),
        "selective_accuracy@80": _round(selective_accuracy(labels, scores, 0.8)),
        "ece": _round(ece(labels, scores)),
        "n": len(done),
        "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
        "answer_mode": modes[0] if len(modes) == 1 else ",".join(modes) or None,
        "accuracy_gold_contained": _mean(done, "gold_contained"),
        "two_unit_share": _mean([{"two": int(r["units"] == 2)} for r in done], "two"),
        "retrieval_hit_rate": _mean(done, "retrieved"),
        "errors": len(records) - len(done),
    }


def _mean(rows: Sequence[Record], key: str) -> float | None:
    return round(float(statistics.mean(r[key] for r in rows)), 4) if rows else None


@dataclass
class QASession:
    settings: Settings
    tenants: SqlTenantRegistry
    retriever: Retriever
    paragraph_of: dict[str, str]  # context -> document id


@contextmanager
def qa_index(items: Sequence[dict[str, Any]], console: Console) -> Iterator[QASession]:
    """Every paragraph of ``items`` indexed into the temporary tenant ``eval``."""
    from rag.runtime import build_tenants

    with tempfile.TemporaryDirectory(prefix="ragtrust-qa-") as tmp:
        update = {"data_dir": Path(tmp), "llm_timeout_s": EVAL_LLM_TIMEOUT_S}
        settings = get_settings().model_copy(update=update)
        paragraph_of: dict[str, str] = {}
        corpus = Path(tmp) / "paragraphs.jsonl"
        with corpus.open("w", encoding="utf-8") as f:
            for it in items:
                if it["context"] not in paragraph_of:
                    pid = paragraph_of[it["context"]] = f"p{len(paragraph_of)}"
                    title = it["title"].replace("_", " ")
                    f.write(json.dumps({"_id": pid, "title": title, "text": it["context"]}) + "\n")
        tenants = build_tenants(settings)
        tenants.create(TENANT, exist_ok=True)
        with index_corpus(corpus, console) as session:
            yield QASession(settings, tenants, session.retriever, paragraph_of)


def _contained(answer: str, golds: Sequence[str]) -> bool:
    return any(contains(answer, g) for g in golds)


async def answer_questions(
    session: QASession, items: Sequence[dict[str, Any]], *, preset: PresetName,
    answer_mode: AnswerMode | None = None, concurrency: int = 4, on_done: Progress | None = None,
) -> list[Record]:  # fmt: skip
    """Every item answered through the AnswerPipeline; one record per question."""
    from rag.runtime import llm_client

    async with llm_client(session.settings) as llm:
        pipeline = await asyncio.to_thread(
            AnswerPipeline, session.settings, session.tenants, session.retriever, llm
        )

        def job(it: dict[str, Any]) -> Callable[[], Awaitable[list[Record]]]:
            async def run() -> list[Record]:
                req = AnswerRequest(question=it["question"], trust_preset=preset,
                                    answer_mode=answer_mode)  # fmt: skip
                t0 = time.perf_counter()
                try:
                    outcome = await pipeline.answer(TENANT, req, request_id=f"qa-{it['id']}")
                    resp = outcome.response
                except RagtrustError as exc:
                    return [{"id": it["id"], "label": None, "score": None, "signals": {},
                             "error": exc.message}]  # fmt: skip
                latency = time.perf_counter() - t0
                trust = resp.trust
                pid = session.paragraph_of[it["context"]]
                units = answer_units(resp)
                return [{
                    "id": it["id"], "label": int(is_correct(resp.answer, it["answers"], units)),
                    "answer_mode": resp.answer_mode, "units": units,
                    "score": trust.score if trust else None,
                    "signals": trust.signals if trust else {},
                    "flagged": trust.flagged if trust else None,
                    "f1": round(f1_score(resp.answer, it["answers"]), 4),
                    "gold_contained": int(_contained(resp.answer, it["answers"])),
                    "retrieved": int(any(c.document_id == pid for c in resp.citations)),
                    "latency_s": round(latency, 3), "answer": resp.answer,
                    "golds": it["answers"],
                }]  # fmt: skip

            return run

        return await _bounded([job(it) for it in items], concurrency, on_done)
