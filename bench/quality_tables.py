"""Tables of the quality measurements: retrieval, trust, extractive answers, PII, precision."""

from __future__ import annotations

from bench.table_format import DASH, load, num, p50_p95, table
from rag.core.settings import Settings


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


def index_backends() -> str:
    data = load("index_backends.json")
    big = data.get("latency_scaled")
    header = ["mode", "nDCG@10 files / PostgreSQL", "recall@100 files / PostgreSQL",
              f"p50 / p95 ms, {data['chunks']:,} chunks: files", "PostgreSQL"]  # fmt: skip
    if big:
        header += [f"p50 / p95 ms, {big['chunks']:,} chunks: files (HNSW)", "PostgreSQL"]
    rows = []
    for mode, files in data["quality"]["files"].items():
        pg = data["quality"]["postgres"][mode]
        both = ("files", "postgres")
        cells = [mode, f"{num(files['ndcg@10'])} / {num(pg['ndcg@10'])}",
                 f"{num(files['recall@100'])} / {num(pg['recall@100'])}",
                 *(p50_p95(data["latency"][b][mode], "ms", 1) for b in both)]  # fmt: skip
        if big:
            cells += [p50_p95(big[b][mode], "ms", 1) for b in both]
        rows.append(cells)
    return table(header, rows)
