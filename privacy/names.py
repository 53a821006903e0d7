"""Given names and family names as evidence that a capitalised word is a person.

The lists come from Faker's person providers (every locale it ships: ~31,000 given names
and ~30,000 family names from 80 locales), read offline from the installed package once per
process. A name list is evidence, not proof: ``Will``, ``Grace`` and ``Rose`` are names and
English words, so English words (spaCy's stop words, Faker's English lorem, company-slogan
and job-title vocabularies, months and days: ~2,000 words) count as neither.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import regex
from spacy.lang.en.stop_words import STOP_WORDS

# English words that are also in some locale's name list, and that start sentences, head
# titles or name things far more often than they name a person.
_COMMON = (
    frozenset(
        """
    a an and art born bill by can case dawn day did do done down fine first gay god grace
    guy hope it its joy june key kim king lane last long love mark may mint more much new
    no not one other our page park patience rich rose royal say she so sun star summer
    the them this to want way will win winter young zip
    january february march april august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    """.split()  # noqa: SIM905
    )
    | STOP_WORDS
)


def _english() -> frozenset[str]:
    from faker.providers.company.en_US import Provider as Company
    from faker.providers.job.en_US import Provider as Job
    from faker.providers.lorem.en_US import Provider as Lorem

    words: set[str] = {w.casefold() for w in Lorem.word_list}
    for group in (*Company.catch_phrase_words, *Company.bsWords):
        words.update(w.casefold() for w in group)
    for job in Job.jobs:
        words.update(w.casefold() for w in regex.findall(r"[^\W\d_]+", job))
    return frozenset(words)


COMMON_WORDS = _COMMON | _english()


def is_english_word(word: str) -> bool:
    return word.casefold().rstrip(".") in COMMON_WORDS


def _collect(prefix: str) -> frozenset[str]:
    import faker.providers.person as person

    names: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        except (ImportError, AttributeError):  # pragma: no cover - a broken locale
            continue
        for attr in dir(provider):
            if not attr.startswith(prefix):
                continue
            values = getattr(provider, attr)
            if isinstance(values, dict):
                values = list(values)
            if isinstance(values, (list, tuple, set, frozenset)):
                names.update(v.casefold() for v in values if isinstance(v, str) and len(v) > 1)
    return frozenset(names)


@cache
def given_names() -> frozenset[str]:
    return _collect("first_name") - COMMON_WORDS


@cache
def family_names() -> frozenset[str]:
    return _collect("last_name") - COMMON_WORDS


def is_given_name(word: str) -> bool:
    return word.casefold().rstrip(".") in given_names()


def is_family_name(word: str) -> bool:
    return word.casefold().rstrip(".") in family_names()
