"""Names no list knows, found by their place in the sentence; the English lexicon that tells
them from title-case words; repeated mentions. Sentences are written here (made-up names),
not taken from the evaluation data."""

from __future__ import annotations

import pytest

from privacy.analyzer import PiiAnalyzer
from privacy.lexicon import is_lexicon_word
from privacy.person_roles import repeat_names, speaker_names, unknown_word
from privacy.persons import _plausible_person


@pytest.fixture(scope="module")
def analyzer() -> PiiAnalyzer:
    return PiiAnalyzer()


def _people(analyzer: PiiAnalyzer, text: str) -> list[str]:
    return [text[d.start : d.end] for d in analyzer.analyze(text) if d.entity_type == "PERSON"]


def test_lexicon_knows_inflected_english_and_not_made_up_names() -> None:
    assert is_lexicon_word("Tales") and is_lexicon_word("went") and is_lexicon_word("Heather")
    assert is_lexicon_word("Salesperson's")
    assert not is_lexicon_word("Zarvonik") and not is_lexicon_word("")
    assert unknown_word("Zarvonik") and not unknown_word("Ingrid") and not unknown_word("Harbour")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Zarvonik is from Leeds and works nights.", id="subject-is-from"),
        pytest.param("Zarvonik said the parcel never came.", id="subject-speech-verb"),
        pytest.param("Zarvonik had never given his number to anyone.", id="aux-adverb-verb"),
        pytest.param("Thanks, said Zarvonik to the driver.", id="inverted-speech"),
        pytest.param("Zarvonik, could you send the form again?", id="vocative"),
        pytest.param('Zarvonik: "Who left the door open?"', id="speaker"),
        pytest.param("Please remove my nephew Zarvonik from the policy.", id="kinship"),
        pytest.param("could you ask ms. Zarvonik about it", id="lowercase-title"),
    ],
)  # fmt: skip
def test_unknown_word_in_a_persons_place_is_a_name(analyzer: PiiAnalyzer, text: str) -> None:
    assert _people(analyzer, text) == ["Zarvonik"]


@pytest.mark.parametrize(
    "text",
    [
        "Zarvonik is a logistics company based in Leeds.",
        "We shipped the order with Zarvonik last week.",
        "Note: bring your ID",
        "my friend recommended this shop",
        "Harbour: the ferry leaves at noon.",
    ],
)
def test_unknown_word_without_a_persons_place_is_not(analyzer: PiiAnalyzer, text: str) -> None:
    assert _people(analyzer, text) == []


def test_two_words_english_does_not_have_are_a_name(analyzer: PiiAnalyzer) -> None:
    text = "The form was signed by Quellmar Tulbeddo yesterday."
    assert _people(analyzer, text) == ["Quellmar Tulbeddo"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("Quellmar  Tulbeddo\nNight porter", "Quellmar  Tulbeddo", id="two-spaces"),
        pytest.param("We read the letters from Quellmar Tulbeddo's archive.", "Quellmar Tulbeddo",
                     id="possessive-after-from"),
        pytest.param("What's your last name? Tulbeddo", "Tulbeddo", id="asked-name"),
        pytest.param("please call quellmar tulbeddo back", "quellmar tulbeddo",
                     id="lowercased-unknown-words"),
    ],
)  # fmt: skip
def test_name_shapes(analyzer: PiiAnalyzer, text: str, value: str) -> None:
    assert _people(analyzer, text) == [value]


@pytest.mark.parametrize(
    "text",
    ["pls thx for the help", "we buy from quellmar tulbeddo inc. every year"],
)
def test_lowercased_unknown_words_that_are_not_names(analyzer: PiiAnalyzer, text: str) -> None:
    assert _people(analyzer, text) == []


def test_speaker_labels_need_content_and_no_english_word() -> None:
    text = 'Zarvonik:"Where were you?"\nAddress:\n12 Main St\nWill: fine\nKestrali Vornhagen: Hi'
    assert [text[s:e] for s, e in speaker_names(text)] == ["Zarvonik", "Kestrali Vornhagen"]


def test_a_repeated_name_is_found_again(analyzer: PiiAnalyzer) -> None:
    text = "Quellmar Tulbeddo wrote the memo; later Tulbeddo's team retracted it."
    assert _people(analyzer, text) == ["Quellmar Tulbeddo", "Tulbeddo"]


def test_repeat_names_matches_whole_identifying_words_only() -> None:
    text = "Ingrid Rose Tulbeddo met Tulbeddovich and a rose; Ingrid left, Tulbeddo-Smith stayed."
    found = [(text[s:e], k) for s, e, k in repeat_names(text, [(0, 20)])]
    assert found == [("Ingrid", 0)]


def test_spacy_person_keeps_no_lowercase_words_around_the_name(analyzer: PiiAnalyzer) -> None:
    assert _people(analyzer, "Please add Zarvonik Tulbeddo to the account.") == [
        "Zarvonik Tulbeddo"
    ]


def test_spacy_person_made_of_english_words_is_dropped() -> None:
    assert not _plausible_person("Quiet Mornings")
    assert _plausible_person("Heather Mitchell") and _plausible_person("Zarvonik")
