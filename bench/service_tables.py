"""Tables of the service's speed and hardening benchmarks, and of its settings."""

from __future__ import annotations

import json
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from bench.table_format import DASH, ROOT, load, num, p50_p95, per_s, table
from rag.core.settings import Settings


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
