"""Tenant policy: pseudonymize by default, redact without restore, block the question."""

from __future__ import annotations

import pytest

from privacy.analyzer import PiiAnalyzer
from privacy.policy import PiiBlockedError, PolicyOverrides, PrivacyGuard, PrivacyPolicy

QUESTION = "What is the phone of Margaret Thornbury? My SSN is 536-22-8412."
CHUNK = "Margaret Thornbury (margaret.thornbury@example.com) handles benefits."


@pytest.fixture(scope="module")
def guard() -> PrivacyGuard:
    return PrivacyGuard(PiiAnalyzer())


def test_same_value_in_question_and_context_shares_a_placeholder(guard: PrivacyGuard) -> None:
    safe = guard.protect(QUESTION, [CHUNK], PrivacyPolicy())
    assert "Margaret" not in safe.question + safe.chunks[0]
    assert "<PERSON_1>" in safe.question and "<PERSON_1>" in safe.chunks[0]
    assert safe.entities == {"EMAIL_ADDRESS": 1, "PERSON": 1, "US_SSN": 1}
    assert safe.vault.restore("Ask <PERSON_1>.") == "Ask Margaret Thornbury."


def test_redact_is_not_restored(guard: PrivacyGuard) -> None:
    policy = PrivacyPolicy(actions={"US_SSN": "redact"})
    safe = guard.protect(QUESTION, [], policy)
    assert "<US_SSN>" in safe.question and "536-22-8412" not in safe.question
    assert safe.vault.restore(safe.question).count("536-22-8412") == 0
    assert safe.entities["US_SSN"] == 1


def test_block_names_the_types_never_the_values(guard: PrivacyGuard) -> None:
    with pytest.raises(PiiBlockedError) as err:
        guard.protect(QUESTION, [], PrivacyPolicy(actions={"US_SSN": "block"}))
    assert err.value.types == ["US_SSN"]
    assert "536" not in str(err.value)


def test_blocked_type_in_a_document_is_redacted_not_refused(guard: PrivacyGuard) -> None:
    policy = PrivacyPolicy(actions={"EMAIL_ADDRESS": "block"})
    safe = guard.protect("Who handles benefits?", [CHUNK], policy)
    assert "<EMAIL_ADDRESS>" in safe.chunks[0]


def test_tenant_overrides_merge_over_defaults() -> None:
    base = PrivacyPolicy(thresholds={"PERSON": 0.5}, actions={"US_SSN": "redact"})
    merged = base.merged(PolicyOverrides(actions={"US_SSN": "block"}, entities=["US_SSN"]))
    assert merged.entities == ("US_SSN",)
    assert merged.action("US_SSN") == "block" and merged.thresholds == {"PERSON": 0.5}


def test_unknown_entity_types_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown entity types"):
        PolicyOverrides(entities=["SHOE_SIZE"])


def test_a_quoted_piece_of_a_chunk_is_masked_like_the_chunk(guard: PrivacyGuard) -> None:
    policy = PrivacyPolicy(actions={"EMAIL_ADDRESS": "redact"})
    safe = guard.protect("Who handles benefits?", [CHUNK], policy)
    quote = "Margaret Thornbury (margaret.thornbury@example.com)"
    assert safe.mask(quote) == "<PERSON_1> (<EMAIL_ADDRESS>)"
    assert safe.mask(quote) in safe.chunks[0]
    assert safe.mask("nothing protected here") == "nothing protected here"
