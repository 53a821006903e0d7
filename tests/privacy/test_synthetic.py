"""Generated PII sentences (presidio-evaluator's templates and Faker): deterministic per seed,
and the fresh part never shares a template with the part tuning may look at, nor with the
split of the dev file that the recognizers were tuned on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from privacy.synthetic import (
    DEFAULT_SEEDS,
    GeneratedSet,
    generate,
    package_templates,
    template_part,
    templates,
)


@pytest.fixture(scope="module")
def fresh() -> GeneratedSet:
    return generate("fresh", n=40)


def test_the_parts_split_every_template_and_share_none() -> None:
    tune, fresh = set(templates("tune")), set(templates("fresh"))
    assert tune and fresh and not tune & fresh
    assert tune | fresh == set(package_templates())


def test_fresh_is_every_fifth_template() -> None:
    assert [template_part(i) for i in range(6)] == ["fresh", *["tune"] * 4, "fresh"]


DEV_FILE = Path(__file__).parents[2] / "../shared/data/pii/synth_dataset_v2.json"


def _shape(template: str) -> str:
    return re.sub(r"{{[^}]*}}", "X", template).strip().casefold()


@pytest.mark.skipif(not DEV_FILE.exists(), reason="needs ../shared/data/pii")
def test_no_fresh_template_has_the_shape_of_a_sentence_tuned_on() -> None:
    """The dev file was generated from the package's list; its dev split (tuned on) must
    not hold a sentence shaped like a fresh template."""
    records = json.loads(DEV_FILE.read_text())
    tuned = {_shape(r["masked"]) for r in records if r["template_id"] % 5}
    fresh = {_shape(t) for t in templates("fresh")}
    assert len(fresh) >= 40 and not fresh & tuned


def test_templates_have_real_line_breaks() -> None:
    assert any("\n" in t for t in package_templates())
    assert not any("\\n" in t for t in package_templates())


def test_the_parts_have_their_own_seeds() -> None:
    assert DEFAULT_SEEDS["tune"] != DEFAULT_SEEDS["fresh"]


def test_same_seed_same_sentences(fresh: GeneratedSet) -> None:
    again = generate("fresh", n=40)
    assert again.samples == fresh.samples and again.seed == DEFAULT_SEEDS["fresh"]


def test_another_seed_other_sentences(fresh: GeneratedSet) -> None:
    other = generate("fresh", n=40, seed=DEFAULT_SEEDS["fresh"] + 1)
    assert [s.text for s in other.samples] != [s.text for s in fresh.samples]


def test_fresh_sentences_come_from_fresh_templates_only(fresh: GeneratedSet) -> None:
    every = package_templates()
    assert {s.group for s in fresh.samples} <= {
        i for i in range(len(every)) if template_part(i) == "fresh"
    }
    tune = generate("tune", n=40)
    assert not {s.group for s in tune.samples} & {s.group for s in fresh.samples}


def test_gold_spans_are_typed_for_the_scorer_and_inside_the_text(fresh: GeneratedSet) -> None:
    spans = [(s.text, g) for s in fresh.samples for g in s.spans]
    assert spans
    for text, g in spans:
        assert 0 <= g.start < g.end <= len(text) and text[g.start : g.end].strip()
    assert {g.entity_type for _, g in spans} <= {
        "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE",
        "IP_ADDRESS", "STREET_ADDRESS", "US_DRIVER_LICENSE",
    }  # fmt: skip
