"""The tables of README.md and docs/*.md, rebuilt from where their numbers live.

A number typed by hand into a doc goes stale the day its benchmark is rerun; a default typed
into the README goes stale the day `Settings` changes. So each such table sits between
``<!-- table: NAME -->`` and ``<!-- /table -->`` and is regenerated from
``bench/results/*.json`` or from ``rag.core.settings.Settings``; the prose around it stays
hand-written. ``tests/test_docs.py`` fails when a generated table is out of date.

Run: .venv/bin/python -m bench.docs_tables [--check]   (or `make docs`)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import typing
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from rag.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BLOCK = re.compile(r"(<!-- table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)
DASH = "—"


def num(value: float | None, places: int = 3) -> str:
    """Half-up rounding, as a reader rounds (Python's round(524.5) is 524)."""
    if value is None:
        return DASH
    step = Decimal(1).scaleb(-places)
    return str(Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP))


def per_s(value: float) -> str:
    """Throughputs to the hundred: their run-to-run spread is wider than that."""
    return f"{int(Decimal(value).scaleb(-2).quantize(Decimal(1), ROUND_HALF_UP)) * 100:,}"


def p50_p95(timing: dict[str, Any], unit: str = "s", places: int = 2) -> str:
    return f"{num(timing[f'p50_{unit}'], places)} / {num(timing[f'p95_{unit}'], places)}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; a "|" inside a cell is escaped so that it cannot split the cell."""
    lines = [header, ["---"] * len(header), *rows]
    cells = (" | ".join(c.replace("|", "\\|") for c in line) for line in lines)
    return "".join(f"| {line} |\n" for line in cells)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULTS / name).read_text())
    return data


def answer_speed() -> str:
    data = load("answer.json")
    rows = []
    for level in data["concurrency_levels"]:
        arms = data["levels"][str(level)]
        r = arms["ratios"]
        rates = [num(arms[a]["answers_per_s"], 2) for a in ("vllm", "off", "generative")]
        rows.append([
            str(level), *(p50_p95(arms[a]) for a in ("vllm", "off", "generative")),
            f"**{p50_p95(arms['extractive'])}**",
            " / ".join(rates) + f" / **{num(arms['extractive']['answers_per_s'], 2)}**",
            *(f"{num(r[k + '_p50'], 2)} ({num(r[k + '_paired'], 2)})"
              for k in ("off/vllm", "generative/off", "extractive/generative")),
        ])  # fmt: skip
    header = ["concurrency", "p50 / p95 s: (a) raw vLLM", "(b) generative, trust off",
              "(c) generative, balanced", "(d) **extractive, balanced**",
              "answers/s a / b / c / **d**", "b/a p50 (paired)", "c/b (paired)",
              "d/c (paired)"]  # fmt: skip
    return table(header, rows)


def answer_speed_modes() -> str:
    data = load("answer.json")
    rows = []
    for level in data["concurrency_levels"]:
        arms = data["levels"][str(level)]
        cells = [str(level)]
        for arm in ("extractive", "generative"):
            cells += [p50_p95(arms[arm]), num(arms[arm]["answers_per_s"], 2)]
        rows.append(cells)
    header = ["concurrency", "extractive p50 / p95 s", "extractive answers/s",
              "generative p50 / p95 s", "generative answers/s"]  # fmt: skip
    return table(header, rows)


def model_precision() -> str:
    data = load("model.json")
    names = {"bf16": "bf16", "int8": "int8 (W8A8)", "int4": "int4 (W4A16, g32)"}
    rows, notes = [], []
    for r in data["results"]:
        label = names.get(r["precision"], r["precision"])
        if r["precision"] == data["default"]:
            label = f"**{label}, default**"
        f1 = num(r["f1"])
        native = r.get("measured_on") == "native"
        if not native:
            notes.append(f"¹ {r['precision']}: measured on the {r['measured_on']}.")
            f1 += " ¹"
        speeds = [num(r.get(k), 1) for k in ("decode_tokens_per_s_c1", "decode_tokens_per_s_c16")]
        size = f"{num(r['checkpoint_mb'], 0)} MB" if native else DASH
        rows.append([label, f1, *speeds, size])
    header = ["precision", "SQuAD F1", "tok/s, 1 stream", "tok/s, 16 streams", "checkpoint"]
    return table(header, rows) + "".join(f"\n{n}\n" for n in notes)


def retrieval_quality() -> str:
    data = load("retrieval.json")
    default = Settings.model_fields["retrieval_mode"].default
    scales = list(data["latency"])
    header = ["mode", "nDCG@10", "recall@100", "MRR@10"]
    for scale in scales:
        chunks, _, kind = scale.partition(" ")
        kind = {"hnsw": "HNSW"}.get(kind.strip("()"), kind.strip("()") or "exact")
        header.append(f"p50 / p95 ms, {int(chunks):,} chunks ({kind})")
    rows = []
    for mode, q in data["quality"].items():
        label = f"**{mode}** (default)" if mode == default else mode
        cells = [label, num(q["ndcg@10"]), num(q["recall@100"]), num(q["mrr@10"])]
        for scale in scales:
            cells.append(p50_p95(data["latency"][scale][mode], "ms", 1))
        rows.append(cells)
    return table(header, rows)


# (label, index into trust_eval.json's "halueval", or None for halueval_heldout.json)
HALUEVAL_ROWS: list[tuple[str, int | None]] = [
    ("`balanced`, refitted on the service's embedder (2026-12-02)", None),
    ("`balanced`, torch-embedded consistency (what the service did not compute)", 0),
    ("`balanced`, lift as a mean over all tokens (before)", 1),
    ("`balanced` (= `thorough`), before the samples cap", 2),
    ("`balanced`, length-matched items only", 3),
    ("`fast`", 4),
    ("`fast`, items 80-139 only", 5),
]


def halueval() -> str:
    runs = load("trust_eval.json")["halueval"]
    rows = []
    for label, index in HALUEVAL_ROWS:
        r = load("halueval_heldout.json") | {"items": "80-139"} if index is None else runs[index]
        items = r["items"]
        answers = f"{r['n']} (items {items})" if items[0].isdigit() else f"{r['n']} ({items})"
        matched = r.get("n_length_matched")
        if matched is None:
            lm = num(r.get("auroc_length_matched"), 4)
        elif matched < 20:
            lm = f"{DASH} ({matched} answers)"
        else:
            lm = f"{num(r['auroc_length_matched'], 4)} ({matched})"
        rows.append([
            label, answers, num(r["auroc"], 4), lm, num(r["f1"]), num(r.get("f1_always_flag")),
            num(r["ece"]), num(r.get("extra_tokens_mean"), 0),
        ])  # fmt: skip
    header = ["preset", "answers", "AUROC", "AUROC length-matched", "F1", "F1 always-flag",
              "ECE", "extra tokens / answer"]  # fmt: skip
    return table(header, rows)


def summedits() -> str:
    data = load("trust_eval.json")
    fast = data["summedits_grounding_fast"]["evaluation_split"]
    balanced = data["summedits_balanced_weakest_lift"]
    shipped, refit = balanced["shipped_calibration"], balanced["with_summedits_in_fit_not_shipped"]
    rows = []
    for domain, r in fast.items():
        b = shipped.get(domain)
        rows.append([
            domain, str(r["n"]), num(r["balanced_accuracy"], 2), num(r["auroc"], 2),
            num(b["auroc"], 2) if b else DASH, num(refit[domain]["auroc"], 2) if b else DASH,
        ])  # fmt: skip
    n = next(iter(shipped.values()))["n"]
    header = ["domain", "n", "`fast`: balanced accuracy", "`fast`: AUROC",
              f"`balanced` (first {n}): AUROC",
              "`balanced`, SummEdits in the fit (not shipped): AUROC"]  # fmt: skip
    return table(header, rows)


# (label, file, path of keys to the run, machine)
QA_ROWS: list[tuple[str, str, tuple[str, ...], str | None]] = [
    ("articles 12-23 (310 questions, held out from every fit)", "qa_extractive.json",
     ("final_run", "articles_12_23_held_out"), "Ice Lake, no AMX"),
    ("all 632 questions (the target command; half of them tuned on)", "qa_extractive.json",
     ("final_run", "all_632"), "Ice Lake, no AMX"),
    ("articles 0-11 (tuned on)", "qa_extractive.json",
     ("final_run", "articles_0_11_tuned_on"), "Ice Lake, no AMX"),
    ("articles 12-23, before `choice`", "qa_extractive.json",
     ("previous_run_without_choice", "articles_12_23_held_out"), "AMX Xeon"),
    ("all 632, before `choice`", "qa_extractive.json",
     ("previous_run_without_choice", "all_632"), "AMX Xeon"),
    ("articles 12-23, an earlier run (`--skip 322`, before the unit cache)", "qa_extractive.json",
     ("earlier_run_before_the_unit_cache", "articles_12_23_held_out (--skip 322)"), None),
    ("all 632, the same earlier run", "qa_extractive.json",
     ("earlier_run_before_the_unit_cache", "all_632"), None),
    ("articles 0-11 with no extractive calibration (a fit's input)", "qa_extractive.json",
     ("calibration_input_articles_0_11_uncalibrated",), None),
    ("generative mode, before (60 questions, `trust_qa.json`)", "trust_qa.json", (), "AMD EPYC"),
]  # fmt: skip


def qa_extractive() -> str:
    rows = []
    for label, name, keys, machine in QA_ROWS:
        r = load(name)
        for key in keys:
            r = r[key]
        accuracy = num(r["accuracy"])
        if r.get("answer_mode") != "extractive":
            accuracy += f" (F1 rule); gold contained {num(r['accuracy_gold_contained'], 2)}"
        two = r.get("two_unit_share")
        latency = r["latency_p50_s"]
        seconds = f"{num(latency, 2 if latency < 10 else 0)} s"
        rows.append([
            label, accuracy, num(r["auroc"]), num(r["ece"]), num(r["selective_accuracy@80"]),
            DASH if two is None else f"{num(two * 100, 0)}%",
            f"{seconds} ({machine})" if machine else seconds,
        ])  # fmt: skip
    header = ["split (the final run, with `choice`, unless named)", "accuracy", "AUROC",
              "ECE", "selective accuracy @ 80%", "two-unit answers",
              "p50 latency (4 in flight)"]  # fmt: skip
    return table(header, rows)


def selector_ablation() -> str:
    data = load("extractive_fit.json")
    runs = {**data["ablation"], "shipped": data["shipped"]}
    rows = []
    for name, r in runs.items():
        label = (
            "**shipped weights** (fitted the same way before long sentences were cut into clauses)"
            if name == "shipped"
            else name
        )
        rows.append([
            label, f"{num(r['tune_top1'])} / {num(r['tune_top2'])}",
            f"{num(r['report_top1'])} / {num(r['report_top2'])}",
        ])  # fmt: skip
    tune, held_out = data["tune_questions"], data["report_questions"]
    header = ["features", f"tune (articles 0-11, {tune} q) best / best two",
              f"held out (articles 12-23, {held_out} q) best / best two"]  # fmt: skip
    return table(header, rows)


def pii() -> str:
    data = load("pii.json")
    labels = {
        "all": "dev file, all {n:,}",
        "dev": "dev file, `--split dev` ({n:,}, tuned on)",
        "holdout": "dev file, `--split holdout` ({n:,}, templates never looked at)",
    }
    generated = {
        "tune": "generated, tune part ({n:,}, seed {seed}, {templates} templates)",
        "fresh": "generated, **fresh** part ({n:,}, seed {seed}, {templates} templates)",
    }
    results = [(label.format(**data[k]), data[k]) for k, label in labels.items()]
    made = data.get("generated", {})
    results += [(label.format(**made[k]), made[k]) for k, label in generated.items() if k in made]
    rows = []
    for label, r in results:
        m = r["micro"]
        rows.append([
            label, f"{r['spans']:,}", num(m["precision"]), num(m["recall"]), num(m["f1"]),
            num(r["any_pii_recall"]), num(r.get("latency_ms", {}).get("p50", 0), 1),
        ])  # fmt: skip
    header = ["", "gold spans", "micro P", "micro R", "micro F1", "any_pii_recall", "p50 ms"]
    return table(header, rows)


def pii_per_type() -> str:
    data = load("pii.json")
    entities, fresh = data["all"]["per_entity"], data.get("generated", {}).get("fresh", {})
    rows = []
    for name, e in sorted(entities.items(), key=lambda kv: -kv[1]["support"]):
        f = fresh.get("per_entity", {}).get(name)
        rows.append([
            name, num(e["precision"], 2), num(e["recall"], 2), num(e["f1"], 2), str(e["support"]),
            f"{num(f['recall'], 2)} / {num(f['precision'], 2)} ({f['support']})" if f else "-",
        ])  # fmt: skip
    header = ["type", "P", "R", "F1", "gold spans", "fresh generated: R / P (spans)"]
    return table(header, rows)


def audit() -> str:
    data = load("audit.json")
    labels = {"sqlite": "SQLite (WAL, synchronous=FULL)", "postgresql": "PostgreSQL 15 (fsync on)"}
    rows = []
    for db, label in labels.items():
        r = data[db]
        rows.append([
            label, f"{p50_p95(r['append'], 'ms', 1)} ms",
            *(f"{per_s(r[k + '_records_per_s'])} records/s"
              for k in ("export_jsonl", "export_csv", "verify")),
        ])  # fmt: skip
    header = ["database", "append p50 / p95", "export JSONL", "export CSV", "verify"]
    return table(header, rows)


def abuse() -> str:
    data = load("abuse.json")
    alone = data["other_tenant_alone"]["p50_ms"]
    arms = [("alone", "other_tenant_alone", None),
            ("4 client processes spinning, sending nothing (control)",
             "other_tenant_during_cpu_burn", None),
            ("~1 MB to /v1/score, 4 clients as fast as answered", "other_tenant_during_abuse",
             "abuse"),
            ("~1 MB to /v1/score, 4 clients x 25/s", "other_tenant_during_paced_abuse",
             "paced_abuse"),
            ("GET /healthz, 4 clients as fast as answered (control)",
             "other_tenant_during_control_flood", "control_flood")]  # fmt: skip
    rows = []
    for label, key, flood in arms:
        r, f = data[key], data.get(flood or "", {})
        statuses = ", ".join(str(s) for s in f.get("statuses", [200])) if flood else DASH
        rows.append([
            label, f"{p50_p95(r, 'ms', 1)} ms", f"{num(r['p50_ms'] / alone, 2)}x",
            f"{f['n']:,} ({statuses}), p50 {num(f['p50_ms'], 1)} ms" if flood else DASH,
            f"{num(f['service_cpu_ms_per_request'], 2)} ms at {f['requests_per_s']:,}/s"
            if flood else DASH,
        ])  # fmt: skip
    header = ["flood", "other tenant's answer p50 / p95", "p50 vs alone", "flood requests",
              "service CPU per flood request"]  # fmt: skip
    return table(header, rows)


def fair_share() -> str:
    data = load("fair_share.json")
    rows = []
    for order, label in (("turns_by_tenant", "turns by tenant (default)"),
                         ("first_come", "first come, first served (before)")):  # fmt: skip
        r = data[order]
        arms = [k for k in r if k.startswith("busy_tenant_")]
        rows.append([
            label, f"{p50_p95(r['alone'], 'ms', 1)} ms",
            f"{p50_p95(r['beside_a_spinning_process'], 'ms', 1)} ms",
            *(f"{p50_p95(r[k]['other_tenant'], 'ms', 1)} ms" for k in arms),
            *(f"{num(r[k]['busy_tenant']['answers_per_s'], 1)}/s" for k in arms),
        ])  # fmt: skip
    arms = [k.removeprefix("busy_tenant_").replace("_", " ") for k in data["first_come"]
            if k.startswith("busy_tenant_")]  # fmt: skip
    header = ["order", "other tenant alone", "beside a spinning process",
              *(f"other tenant, busy tenant {a}" for a in arms),
              *(f"busy tenant's answers ({a})" for a in arms)]  # fmt: skip
    return table(header, rows)


def shown_default(value: Any) -> str:
    """A default as one would write it in the environment."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Path):
        value = value.relative_to(ROOT).as_posix() if value.is_relative_to(ROOT) else value
    if isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, list | dict):
        value = json.dumps(value, separators=(",", ":"))
    elif isinstance(value, float):
        value = str(Decimal(repr(value)))
    return f"`{value}`" if str(value) else "empty"


def configuration() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default is PydanticUndefined and field.default_factory is not None:
            default = field.default_factory()  # type: ignore[call-arg]
        else:
            default = field.default
        meaning = field.description or ""
        if typing.get_origin(field.annotation) is typing.Literal:
            meaning += " One of " + ", ".join(f"`{v}`" for v in typing.get_args(field.annotation))
            meaning += "."
        rows.append([f"`RAGTRUST_{name.upper()}`", shown_default(default), meaning.strip()])
    return table(["variable", "default", "meaning"], rows)


TABLES: dict[str, Callable[[], str]] = {
    "answer-speed": answer_speed,
    "answer-speed-modes": answer_speed_modes,
    "model-precision": model_precision,
    "retrieval-quality": retrieval_quality,
    "halueval": halueval,
    "summedits": summedits,
    "qa-extractive": qa_extractive,
    "selector-ablation": selector_ablation,
    "pii": pii,
    "pii-per-type": pii_per_type,
    "audit": audit,
    "abuse": abuse,
    "fair-share": fair_share,
    "configuration": configuration,
}


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def render(text: str) -> str:
    """The text with every marked table rebuilt; an unknown name is an error, not a skip."""

    def rebuilt(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; bench/docs_tables.py knows {sorted(TABLES)}")
        return match.group(1) + TABLES[name]() + match.group(4)

    return BLOCK.sub(rebuilt, text)


def stale() -> list[Path]:
    return [path for path in documents() if render(path.read_text()) != path.read_text()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a doc is out of date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for path in out_of_date:
            print(f"{path.relative_to(ROOT)}: tables out of date; run `make docs`")
        return 1 if out_of_date else 0
    for path in documents():
        text = path.read_text()
        if (new := render(text)) != text:
            path.write_text(new)
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
