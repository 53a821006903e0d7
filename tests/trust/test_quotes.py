"""Trust's pieces for quotes: what samples agree with, and attributing answers to units."""

from __future__ import annotations

import pytest

from trust.quotes import attribute, quote_consistency, sample_agreement, sample_vote

Q = "How many vacation days do full-time employees get?"
QUOTE = "Full-time employees receive 30 vacation days per calendar year."
OTHER = "After 5 years of service, employees receive 2 additional vacation days."


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        pytest.param("They get 30 days.", 1.0, id="states-the-number"),
        pytest.param("They get 32 days.", 0.0, id="another-number"),
        pytest.param("Full-time employees get vacation days.", 0.0, id="says-nothing-new"),
        pytest.param("30 days per calendar year", 1.0, id="number-and-words"),
    ],
)
def test_sample_agreement_reads_what_the_sample_adds(sample: str, expected: float) -> None:
    assert sample_agreement(QUOTE, sample, Q) == pytest.approx(expected)


def test_consistency_is_the_mean_over_samples_and_none_without_any() -> None:
    assert quote_consistency(QUOTE, ["30 days.", "32 days."], Q) == pytest.approx(0.5)
    assert quote_consistency(QUOTE, ["", "  "], Q) is None


def test_vote_counts_samples_closer_to_the_quote_than_to_the_other_units() -> None:
    samples = ["30 days.", "2 additional days after 5 years.", "30 days per year."]
    assert sample_vote(QUOTE, [OTHER], samples, Q) == pytest.approx(2 / 3)
    assert sample_vote(OTHER, [QUOTE], samples, Q) == pytest.approx(1 / 3)


def test_each_sentence_is_attributed_to_its_best_unit_or_named_unsupported() -> None:
    answer = "Employees receive 30 vacation days per year [1]. They also get a company car."
    found, missing = attribute(answer, Q, [OTHER, QUOTE])
    assert [(answer[a.start : a.end], a.source) for a in found] == [
        ("Employees receive 30 vacation days per year [1].", 1)
    ]
    assert [answer[s:e] for s, e, _ in missing] == ["They also get a company car."]
