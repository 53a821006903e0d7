"""Streaming restore: placeholders split across chunks come out whole, nothing else waits."""

from __future__ import annotations

import pytest

from privacy.stream import StreamRestorer
from privacy.vault import Vault


def _vault() -> Vault:
    v = Vault()
    v.placeholder("PERSON", "Ada Lovelace")
    v.placeholder("EMAIL_ADDRESS", "ada@example.com")
    return v


def _run(chunks: list[str]) -> tuple[list[str], str]:
    r = StreamRestorer(_vault())
    outs = [r.feed(c) for c in chunks] + [r.flush()]
    return outs, "".join(outs)


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param(["Write to <PER", "SON_1> at <EMAIL_", "ADDRESS_1>."], id="split-inside"),
        pytest.param(["Write to <", "PERSON", "_", "1", ">", " at <EMAIL_ADDRESS_1>."], id="tiny"),
        pytest.param(["Write to PERSON", " 1 at email_address", "_1."], id="mangled-split"),
        pytest.param(list("Write to <PERSON_1> at <EMAIL_ADDRESS_1>."), id="char-by-char"),
    ],
)
def test_split_placeholders_are_restored(chunks: list[str]) -> None:
    _, text = _run(chunks)
    assert text == "Write to Ada Lovelace at ada@example.com."


def test_plain_text_is_not_held_back() -> None:
    outs, _ = _run(["The policy allows 30 days. ", "Ask HR."])
    assert outs[0] == "The policy allows 30 days. "


def test_only_a_short_tail_is_held() -> None:
    r = StreamRestorer(_vault())
    sent = r.feed("x" * 500 + " <PERS")
    assert sent == "x" * 500 + " "
    assert r.flush() == "<PERS"


def test_a_lone_bracket_does_not_stall_the_stream() -> None:
    r = StreamRestorer(_vault())
    first = r.feed("a < b and " + "word " * 10)
    assert first.startswith("a < b and")
