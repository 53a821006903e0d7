"""The vault: stable typed placeholders within a request, no collisions, tolerant restore."""

from __future__ import annotations

import threading

import pytest

from privacy.analyzer import Detection
from privacy.vault import Vault


def test_same_value_gets_the_same_placeholder() -> None:
    v = Vault()
    assert v.placeholder("PERSON", "Ada Lovelace") == "<PERSON_1>"
    assert v.placeholder("PERSON", "ada  LOVELACE") == "<PERSON_1>"


def test_different_values_never_collide() -> None:
    v = Vault()
    tokens = {v.placeholder("PERSON", f"Person {i}") for i in range(50)}
    assert len(tokens) == 50


def test_numbering_is_per_type() -> None:
    v = Vault()
    assert v.placeholder("PERSON", "A B") == "<PERSON_1>"
    assert v.placeholder("EMAIL_ADDRESS", "a@b.io") == "<EMAIL_ADDRESS_1>"


def test_two_vaults_share_nothing() -> None:
    a, b = Vault(), Vault()
    a.placeholder("PERSON", "Ada Lovelace")
    assert b.restore("<PERSON_1>") == "<PERSON_1>"


def test_pseudonymize_replaces_spans_and_redacts_without_mapping() -> None:
    text = "Ada Lovelace, SSN 536-22-8412"
    v = Vault()
    out = v.pseudonymize(
        text, [Detection(0, 12, "PERSON", 0.9)], redact=[Detection(18, 29, "US_SSN", 0.9)]
    )
    assert out == "<PERSON_1>, SSN <US_SSN>"
    assert v.restore(out) == "Ada Lovelace, SSN <US_SSN>"


@pytest.mark.parametrize(
    "mangled",
    [
        pytest.param("<PERSON_1>", id="exact"),
        pytest.param("<PERSON 1>", id="space"),
        pytest.param("PERSON_1", id="no-brackets"),
        pytest.param("<person_1>", id="lowercase"),
        pytest.param("[PERSON-1]", id="square-hyphen"),
        pytest.param("&lt;PERSON_1&gt;", id="html-escaped"),
    ],
)
def test_restore_tolerates_mangled_placeholders(mangled: str) -> None:
    v = Vault()
    v.placeholder("PERSON", "Ada Lovelace")
    assert v.restore(f"Ask {mangled} today.") == "Ask Ada Lovelace today."


def test_restore_leaves_prose_and_unknown_placeholders_alone() -> None:
    v = Vault()
    v.placeholder("PERSON", "Ada Lovelace")
    text = "a person 1 day, Suite 100, <PERSON_7>"
    assert v.restore(text) == text


def test_multiword_types_restore_in_any_spelling() -> None:
    v = Vault()
    v.placeholder("EMAIL_ADDRESS", "ada@example.com")
    assert v.restore("<EMAIL ADDRESS 1> or email_address_1") == "ada@example.com or ada@example.com"


def test_concurrent_use_keeps_one_placeholder_per_value() -> None:
    v = Vault()
    seen: list[str] = []

    def work() -> None:
        for i in range(200):
            seen.append(v.placeholder("PERSON", f"name {i % 20}"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 20
    assert v.counts() == {"PERSON": 20}
