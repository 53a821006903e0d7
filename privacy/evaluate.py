"""Span-level PII evaluation on presidio-research JSON (``ragtrust eval pii``).

Scoring, chosen for what redaction needs:

* Gold types are mapped to the Presidio types the analyzer emits (``GOLD_TO_PRESIDIO``); gold
  spans of types outside the evaluated set (ORGANIZATION, GPE, TITLE, AGE, ...) are not
  scored, and every detection the analyzer makes is.
* A gold span is **found** when detections of its type cover at least half of its
  non-space characters (a partial hit on a long address still leaks most of it otherwise).
  A detection is **correct** when it overlaps a gold span of its type (the annotation splits
  some addresses into pieces, so one detection may cover several gold spans).
* ``any_pii_recall``: gold spans at least half covered by detections of any type: what
  stays hidden, whatever label it got. ``any_pii_char_recall``: share of gold PII characters
  covered.

``baseline=True`` scores Presidio out of the box (all stock recognizers, the same spaCy
model) on the same types, with its LOCATION standing in for STREET_ADDRESS, which it lacks.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from privacy.analyzer import Detection, PiiAnalyzer
from rag.core.entities import DEFAULT_ENTITIES

Split = Literal["all", "dev", "holdout"]

GOLD_TO_PRESIDIO = {
    "PERSON": "PERSON",
    "FIRST_NAME": "PERSON",
    "LAST_NAME": "PERSON",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IBAN_CODE": "IBAN_CODE",
    "IBAN": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "ADDRESS": "STREET_ADDRESS",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
    "GPE": "LOCATION",
    "LOCATION": "LOCATION",
    "DATE_TIME": "DATE_TIME",
    "BIRTHDAY": "DATE_TIME",
    "NRP": "NRP",
    "ORGANIZATION": "ORGANIZATION",
}


@dataclass(frozen=True)
class Sample:
    text: str
    spans: tuple[Detection, ...]  # gold, typed in Presidio's names
    group: int  # template id: the holdout split keeps whole templates apart


def load(
    path: Path, split: Split = "all", entities: Sequence[str] = DEFAULT_ENTITIES
) -> list[Sample]:
    """Read presidio-research JSON; ``dev``/``holdout`` split by template (1 in 5 held out)
    so that held-out sentences are built from templates never seen while tuning."""
    raw: list[dict[str, Any]] = json.loads(Path(path).read_text())
    return samples_from_records(raw, split, entities)


def samples_from_records(
    raw: Sequence[Mapping[str, Any]],
    split: Split = "all",
    entities: Sequence[str] = DEFAULT_ENTITIES,
) -> list[Sample]:
    """presidio-research records (``full_text``, ``spans``, ``template_id``) as samples, gold
    spans of the evaluated types only; also what ``privacy.synthetic`` generates."""
    wanted = set(entities)
    samples = []
    for i, item in enumerate(raw):
        template = item.get("template_id")
        group = int(template) if template is not None else i
        if split != "all" and (group % 5 == 0) != (split == "holdout"):
            continue
        spans = tuple(
            Detection(s["start_position"], s["end_position"], t, 1.0)
            for s in item.get("spans", [])
            if (t := GOLD_TO_PRESIDIO.get(s["entity_type"])) in wanted
        )
        samples.append(Sample(item["full_text"], spans, group))
    return samples


def _covered(text: str, span: Detection, dets: Sequence[Detection]) -> tuple[int, int]:
    chars = [i for i in range(span.start, span.end) if not text[i].isspace()]
    hit = sum(any(d.start <= i < d.end for d in dets) for i in chars)
    return hit, len(chars)


def score(samples: Sequence[Sample], predictions: Sequence[Sequence[Detection]]) -> dict[str, Any]:
    gold_n: Counter[str] = Counter()
    found: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    any_found = chars_hit = chars_all = 0
    for sample, preds in zip(samples, predictions, strict=True):
        for g in sample.spans:
            gold_n[g.entity_type] += 1
            same = [p for p in preds if p.entity_type == g.entity_type]
            hit, total = _covered(sample.text, g, same)
            found[g.entity_type] += 2 * hit >= total
            hit_any, _ = _covered(sample.text, g, preds)
            any_found += 2 * hit_any >= total
            chars_hit, chars_all = chars_hit + hit_any, chars_all + total
        for p in preds:
            pred_n[p.entity_type] += 1
            correct[p.entity_type] += any(
                g.entity_type == p.entity_type and g.start < p.end and p.start < g.end
                for g in sample.spans
            )
    types = sorted(set(gold_n) | set(pred_n))
    per_entity = {
        t: {**_prf(correct[t], pred_n[t], found[t], gold_n[t]), "support": gold_n[t],
            "predicted": pred_n[t]}
        for t in types
    }  # fmt: skip
    total_gold = sum(gold_n.values())
    return {
        "micro": _prf(sum(correct.values()), sum(pred_n.values()), sum(found.values()), total_gold),
        "per_entity": per_entity,
        "any_pii_recall": round(any_found / total_gold, 4) if total_gold else 0.0,
        "any_pii_char_recall": round(chars_hit / chars_all, 4) if chars_all else 0.0,
        "n": len(samples),
        "spans": total_gold,
    }


def _prf(correct: int, predicted: int, found: int, gold: int) -> dict[str, float]:
    p = correct / predicted if predicted else 0.0
    r = found / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


Detector = Callable[[str], list[Detection]]


def ragtrust_detector(entities: Sequence[str] = DEFAULT_ENTITIES) -> Detector:
    analyzer = PiiAnalyzer()
    return lambda text: analyzer.analyze(text, entities)


def baseline_detector(entities: Sequence[str] = DEFAULT_ENTITIES) -> Detector:
    """Presidio as installed: stock registry and NLP configuration on the packaged spaCy
    model; only the e-mail recognizer is swapped for the offline one (same pattern)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from privacy.analyzer import SPACY_MODEL
    from privacy.recognizers import OfflineEmailRecognizer

    nlp = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }
    ).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    asked = sorted({"LOCATION" if e == "STREET_ADDRESS" else e for e in entities})

    def detect(text: str) -> list[Detection]:
        return [
            Detection(
                r.start,
                r.end,
                "STREET_ADDRESS" if r.entity_type == "LOCATION" else r.entity_type,
                r.score,
            )
            for r in engine.analyze(text, language="en", entities=asked)
        ]

    return detect


def evaluate(
    samples: Sequence[Sample],
    detector: Detector,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The scores, plus ``latency_ms``: the detector's time per sentence (p50, p95)."""
    predictions = []
    times = []
    for i, sample in enumerate(samples, 1):
        t0 = time.perf_counter()
        predictions.append(detector(sample.text))
        times.append((time.perf_counter() - t0) * 1000)
        if on_progress:
            on_progress(i, len(samples))
    times.sort()
    latency = (
        {
            "p50": round(statistics.median(times), 2),
            "p95": round(times[int(0.95 * (len(times) - 1))], 2),
        }
        if times
        else {"p50": 0.0, "p95": 0.0}
    )
    return {**score(samples, predictions), "latency_ms": latency}


def merge_results(path: Path, updates: Mapping[str, Any]) -> None:
    """Write ``updates`` into the JSON object at ``path`` (created if missing), merging one
    level deep: recording the fresh set keeps the tune set and the dev file's splits."""
    current: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for key, value in updates.items():
        if (
            isinstance(value, Mapping)
            and isinstance(current.get(key), dict)
            and "micro" not in value
        ):
            current[key] = {**current[key], **value}
        else:
            current[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n")
