"""Does a short-answer prompt make the embedded model's answers SQuAD-correct?

``ragtrust eval qa`` counts an answer correct at SQuAD token-F1 >= 0.5 against 1-3-word gold
spans, and the service's prompt asks for one to three cited sentences, which never get there.
This asks the same questions with prompt variants straight to vLLM (the gold paragraph and two
others of its article as numbered sources, shuffled, as retrieval would give them; greedy;
citation markers removed before scoring) and reports accuracy, mean F1, how often the gold
span is contained, and answer length. It decides whether a prompt change is the lever.

Run (vLLM up: ``ragtrust llm serve``): .venv/bin/python -m bench.answer_prompts [--n 40]
writes bench/results/answer_prompts.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.core.settings import ROOT, get_settings
from rag.llm.client import LLMClient, Message
from rag.llm.prompts import ANSWER_SYSTEM, NO_ANSWER, Source, answer_messages
from rag.runtime import llm_client
from rag.squad import f1_score, normalize
from trust.text import strip_citations

SHORT_SYSTEM = (
    "You answer questions using only the numbered sources given by the user. Answer in as "
    "few words as possible: when a name, number, date or short phrase from the sources "
    "answers the question, reply with just that phrase. Cite the source you used as [1]. "
    f'If the sources do not contain the answer, reply exactly: "{NO_ANSWER}"'
)
PHRASE_SYSTEM = (
    "You answer questions using only the numbered sources given by the user. Reply with the "
    "shortest phrase copied from the sources that answers the question, then cite the source "
    f'like [1]. If the sources do not contain the answer, reply exactly: "{NO_ANSWER}"'
)
SHOTS = [
    ("What year did the bridge open?",
     [Source("Harbour Bridge", "The Harbour Bridge was designed by John Bradfield. "
                               "Construction began in 1923 and the bridge opened in 1932."),
      Source("Ferries", "Ferries cross the harbour every ten minutes.")], "1932 [1]"),
    ("Who founded the company?",
     [Source("Retail", "The store sells furniture and toys."),
      Source("Acme history", "Acme was founded by Maria Lopez in Lyon. It makes garden tools.")],
     "Maria Lopez [2]"),
]  # fmt: skip


def _with_system(messages: list[Message], system: str) -> list[Message]:
    return [{"role": "system", "content": system}, *messages[1:]]


def variant(name: str, question: str, sources: Sequence[Source]) -> list[Message]:
    base = answer_messages(question, sources)
    if name == "service":
        return base
    if name == "few_words":
        return _with_system(base, SHORT_SYSTEM)
    if name == "shortest_phrase":
        return _with_system(base, PHRASE_SYSTEM)
    # few_shot: two worked examples as earlier chat turns, then the question.
    history: list[Message] = []
    for q, srcs, a in SHOTS:
        history += [answer_messages(q, srcs)[-1], {"role": "assistant", "content": a}]
    return _with_system(answer_messages(question, sources, history), SHORT_SYSTEM)


VARIANTS = ("service", "few_words", "shortest_phrase", "few_shot")


def questions(path: Path, n: int) -> list[dict[str, Any]]:
    """One question per paragraph, in a seeded random order, with two article neighbours."""
    out = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        paras = article["paragraphs"]
        title = article["title"].replace("_", " ")
        for i, p in enumerate(paras):
            qa = p["qas"][0]
            others = [x["context"] for j, x in enumerate(paras) if j != i][:2]
            sources = [Source(title, p["context"]), *(Source(title, o) for o in others)]
            random.Random(qa["id"]).shuffle(sources)
            golds = [a["text"] for a in qa["answers"]]
            out.append({"question": qa["question"], "golds": golds, "sources": sources})
    random.Random(7).shuffle(out)
    return out[:n]


async def run(items: list[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    # As the service connects: the configured endpoint, or the embedded server with its key.
    settings = get_settings().model_copy(update={"llm_timeout_s": 900})
    async with llm_client(settings) as llm:
        return await _run(llm, items, names)


async def _run(llm: LLMClient, items: list[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    gate = asyncio.Semaphore(8)

    async def one(name: str, it: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            done = await llm.chat(variant(name, it["question"], it["sources"]), max_tokens=48,
                                  cache_salt=uuid.uuid4().hex)  # fmt: skip
        answer = strip_citations(done.text)
        return {
            "f1": f1_score(answer, it["golds"]),
            "contained": any(f" {normalize(g)} " in f" {normalize(answer)} " for g in it["golds"]),
            "tokens": done.completion_tokens,
            "answer": answer[:120],
        }

    results: dict[str, Any] = {}
    for name in names:
        rows = await asyncio.gather(*(one(name, it) for it in items))
        results[name] = {
            "accuracy": round(sum(r["f1"] >= 0.5 for r in rows) / len(rows), 3),
            "f1_mean": round(statistics.mean(r["f1"] for r in rows), 3),
            "gold_contained": round(sum(r["contained"] for r in rows) / len(rows), 3),
            "tokens_mean": round(statistics.mean(r["tokens"] for r in rows), 1),
            "examples": [r["answer"] for r in rows[:5]],
        }
        print(name, {k: v for k, v in results[name].items() if k != "examples"}, flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/squad/dev.json")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/answer_prompts.json")
    args = ap.parse_args()
    items = questions(args.data, args.n)
    results = asyncio.run(run(items, args.variants.split(",")))
    record = {"data": str(args.data), "questions": len(items), "max_tokens": 48,
              "service_system_prompt": ANSWER_SYSTEM, "variants": results}  # fmt: skip
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
