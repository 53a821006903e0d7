"""The analyzer on the real offline Presidio + spaCy: the fixes the evaluation asked for."""

from __future__ import annotations

import pytest

from privacy.analyzer import Detection, PiiAnalyzer, resolve
from rag.core.entities import SUPPORTED_ENTITIES


@pytest.fixture(scope="module")
def analyzer() -> PiiAnalyzer:
    return PiiAnalyzer()


def _found(analyzer: PiiAnalyzer, text: str) -> dict[str, str]:
    return {text[d.start : d.end]: d.entity_type for d in analyzer.analyze(text)}


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        pytest.param("My SSN is 078-05-1120", "078-05-1120", "US_SSN", id="ssn-not-phone"),
        pytest.param(
            "Mail jane.doe@example.co.uk now", "jane.doe@example.co.uk", "EMAIL_ADDRESS", id="email"
        ),
        pytest.param("Call me at 0494 92 82 32", "0494 92 82 32", "PHONE_NUMBER", id="eu-phone"),
        pytest.param(
            "Mobile: +41 (0)85 806 98 67", "+41 (0)85 806 98 67", "PHONE_NUMBER", id="intl-phone"
        ),  # fmt: skip
        pytest.param(
            "My card 2307733725847513 is lost",
            "2307733725847513",
            "CREDIT_CARD",
            id="2-series-card",
        ),  # fmt: skip
        pytest.param(
            "My IBAN is GB33BUKB20201555555555", "GB33BUKB20201555555555", "IBAN_CODE", id="iban"
        ),  # fmt: skip
        pytest.param("blocked from 41.173.96.26 today", "41.173.96.26", "IP_ADDRESS", id="ip"),
        pytest.param(
            "She lives at 6750 Koskikatu 25 Apt. 864, Helsinki",
            "6750 Koskikatu 25 Apt. 864, Helsinki",
            "STREET_ADDRESS",
            id="address",
        ),  # fmt: skip
        pytest.param("My name is Tomomi Nishiyama", "Tomomi Nishiyama", "PERSON", id="name-cue"),
    ],
)
def test_detects(analyzer: PiiAnalyzer, text: str, value: str, kind: str) -> None:
    assert _found(analyzer, text).get(value) == kind


def test_email_is_one_span_without_url_fragments(analyzer: PiiAnalyzer) -> None:
    dets = analyzer.analyze("write to info@acme-corp.com", list(SUPPORTED_ENTITIES))
    assert [d.entity_type for d in dets] == ["EMAIL_ADDRESS"]


def test_us_phone_is_not_uk_nhs(analyzer: PiiAnalyzer) -> None:
    found = _found(analyzer, "call 212-555-0199 or 4010232137")
    assert set(found.values()) == {"PHONE_NUMBER"}


def test_plain_policy_text_has_no_pii(analyzer: PiiAnalyzer) -> None:
    text = "Full-time employees receive 30 vacation days per calendar year, from 1 January."
    assert analyzer.analyze(text) == []


def test_thresholds_are_per_type(analyzer: PiiAnalyzer) -> None:
    text = "Call me at 0494 92 82 32"
    assert analyzer.analyze(text, ["PHONE_NUMBER"], {"PHONE_NUMBER": 0.99}) == []


def test_resolve_prefers_validated_types_and_keeps_remainders() -> None:
    spans = [
        Detection(0, 11, "PHONE_NUMBER", 0.9),
        Detection(0, 11, "US_SSN", 0.5),
        Detection(20, 40, "PERSON", 0.85),
        Detection(15, 30, "STREET_ADDRESS", 0.6),
    ]
    assert resolve(spans) == [
        Detection(0, 11, "US_SSN", 0.5),
        Detection(15, 30, "STREET_ADDRESS", 0.6),
        Detection(30, 40, "PERSON", 0.85),
    ]
