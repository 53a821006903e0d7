"""The recognizers and NER gating added for the PII evaluation's misses, on the real offline
Presidio + spaCy (sentences written here, not taken from the evaluation data)."""

from __future__ import annotations

import pytest

from privacy.analyzer import PiiAnalyzer, _may_hold_name
from privacy.names import is_english_word, is_family_name, is_given_name
from privacy.policy import PrivacyGuard, PrivacyPolicy


@pytest.fixture(scope="module")
def analyzer() -> PiiAnalyzer:
    return PiiAnalyzer()


def _found(analyzer: PiiAnalyzer, text: str) -> dict[str, str]:
    return {text[d.start : d.end]: d.entity_type for d in analyzer.analyze(text)}


def test_name_lists_leave_out_english_words() -> None:
    assert is_given_name("Ingrid") and is_family_name("Nieminen")
    assert not is_given_name("Will") and not is_given_name("address")
    assert is_english_word("Employees".removesuffix("s"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("The report was reviewed by Ingrid Halvorsen last week.", "Ingrid Halvorsen",
                     id="given-name"),
        pytest.param("Ask Radomir K Vukojević about it.", "Radomir K Vukojević", id="initial"),
        pytest.param("Both Obradović and Bannerjee signed.", "Obradović", id="coordination"),
        pytest.param("please forward it to ingrid halvorsen today", "ingrid halvorsen",
                     id="lowercased-text"),
    ],
)  # fmt: skip
def test_person_with_name_evidence(analyzer: PiiAnalyzer, text: str, value: str) -> None:
    assert _found(analyzer, text).get(value) == "PERSON"


@pytest.mark.parametrize(
    "text",
    [
        "Read the Quarterly Benefits Overview before enrolling.",
        "The Harbor Cleanup Program starts in Spring.",
        "Contact the Springfield Orchestra for tickets.",
    ],
)
def test_capitalised_phrases_without_name_evidence_are_not_people(
    analyzer: PiiAnalyzer, text: str
) -> None:
    assert "PERSON" not in _found(analyzer, text).values()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("Send it to the corner of Lindqvist 12 and Harrow Coves",
                     "the corner of Lindqvist 12 and Harrow Coves", id="corner"),
        pytest.param("Mail:\n>44 Ravnsborggade 17\n>Apt. 3\n>Aarhus\n>Denmark 8000",
                     "44 Ravnsborggade 17\n>Apt. 3\n>Aarhus\n>Denmark 8000", id="quoted-label"),
        pytest.param("she lives at 12 kongsvinger gate 4, hamar, norway",
                     "12 kongsvinger gate 4, hamar, norway", id="lowercased"),
        pytest.param("The bus station is on Tollbodgata 31", "Tollbodgata 31", id="weak+context"),
    ],
)  # fmt: skip
def test_street_addresses(analyzer: PiiAnalyzer, text: str, value: str) -> None:
    assert _found(analyzer, text).get(value) == "STREET_ADDRESS"


def test_address_stops_at_the_end_of_the_sentence(analyzer: PiiAnalyzer) -> None:
    text = "She works at 41 Rue de la Paix, Paris.\nReimbursements are paid monthly."
    assert _found(analyzer, text) == {"41 Rue de la Paix, Paris": "STREET_ADDRESS"}


def test_decades_and_years_are_not_house_numbers(analyzer: PiiAnalyzer) -> None:
    text = "Our 5 Favourite Albums Of The 70s. During 1998, Northwind Traders grew."
    assert "STREET_ADDRESS" not in _found(analyzer, text).values()


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        pytest.param("They're not answering at 58 441 207", "58 441 207", "PHONE_NUMBER",
                     id="phone-context-stopword"),
        pytest.param("Can someone call me on 4471 9032?", "4471 9032", "PHONE_NUMBER",
                     id="call-is-a-stop-word"),
        pytest.param("+447700677662 mobile", "+447700677662", "PHONE_NUMBER", id="plus-not-card"),
        pytest.param("My driver's license number is 8812345", "8812345", "US_DRIVER_LICENSE",
                     id="licence-not-phone"),
        pytest.param("Mobile: 47 518320", "47 518320", "PHONE_NUMBER", id="six-digit-group"),
        pytest.param("Please call 0361-5520719 after six", "0361-5520719", "PHONE_NUMBER",
                     id="seven-digit-group"),
        pytest.param("The desk line is 41 80 26", "41 80 26", "PHONE_NUMBER",
                     id="six-digit-number"),
        pytest.param("send it to iban fr7630006000011234567890189 please",
                     "fr7630006000011234567890189", "IBAN_CODE", id="lowercased-iban"),
    ],
)  # fmt: skip
def test_numbers_by_context(analyzer: PiiAnalyzer, text: str, value: str, kind: str) -> None:
    assert _found(analyzer, text).get(value) == kind


def test_order_number_without_context_is_not_a_phone(analyzer: PiiAnalyzer) -> None:
    assert _found(analyzer, "Order 4471 9032 shipped.") == {}


def test_a_phone_never_spans_lines(analyzer: PiiAnalyzer) -> None:
    found = _found(analyzer, "Sonja Berg\n12 Lindenweg\n3011 Bern\n031 552 07 19 office")
    assert found.get("031 552 07 19") == "PHONE_NUMBER"
    assert not any("\n" in v for v, kind in found.items() if kind == "PHONE_NUMBER")


def test_digit_groups_that_begin_a_street_address_are_its_house_number(
    analyzer: PiiAnalyzer,
) -> None:
    found = _found(analyzer, "Call us or visit 4417 2280 Marlowe Street, Leeds.")
    assert "PHONE_NUMBER" not in found.values()
    assert any(v.startswith("4417 2280 Marlowe") for v in found)


def test_ner_runs_only_where_a_name_can_be() -> None:
    assert _may_hold_name("The benefits officer is Margaret Thornbury.")
    assert _may_hold_name("Ingrid will call back.")
    assert not _may_hold_name("Employees may carry over five unused vacation days.")
    assert not _may_hold_name("Days carried over expire on 31 March.")


def test_batch_equals_one_by_one(analyzer: PiiAnalyzer) -> None:
    texts = [
        "Ask Ingrid Halvorsen at +46 8 123 456 78.",
        "",
        "Employees receive 30 days.",
        "Dr. Obradović lives at 44 Ravnsborggade 17, Aarhus.",
    ]
    assert analyzer.analyze_many(texts) == [analyzer.analyze(t) for t in texts]


def _counting_guard(analyzer: PiiAnalyzer) -> tuple[PrivacyGuard, list[int]]:
    """A guard on the real analyzer that logs how many texts each batch sent to it."""
    calls: list[int] = []
    real = analyzer.analyze_many

    def counting(texts: list[str], *args: object, **kwargs: object) -> list[list[object]]:
        calls.append(len(texts))
        return real(texts, *args, **kwargs)  # type: ignore[arg-type, return-value]

    guard = PrivacyGuard(analyzer)
    guard.analyzer = type("A", (), {"analyze_many": staticmethod(counting)})()
    return guard, calls


def test_guard_batches_question_and_new_chunks_and_caches(analyzer: PiiAnalyzer) -> None:
    guard, calls = _counting_guard(analyzer)
    chunks = [
        "Ingrid Halvorsen approves leave.",
        "No PII here.",
        "Ingrid Halvorsen approves leave.",
    ]
    first = guard.protect("Who approves leave?", chunks, PrivacyPolicy())
    assert calls == [3]  # question + the two distinct chunks, one batch
    assert first.chunks[0] == first.chunks[2] == "<PERSON_1> approves leave."
    guard.protect("And sick leave?", chunks, PrivacyPolicy())
    assert calls == [3, 1]  # the chunks came from the cache


def test_the_chunk_cache_is_per_tenant(analyzer: PiiAnalyzer) -> None:
    """A tenant must not see (in a faster answer) that another one analysed the same text."""
    guard, calls = _counting_guard(analyzer)
    chunk = ["Ingrid Halvorsen approves leave."]
    guard.protect("Who approves leave?", chunk, PrivacyPolicy(), tenant="acme")
    guard.protect("Who approves leave?", chunk, PrivacyPolicy(), tenant="globex")
    guard.protect("Who approves leave?", chunk, PrivacyPolicy(), tenant="acme")
    assert calls == [2, 2, 1]  # globex analyses the chunk afresh; acme's second is cached
