"""A name no list knows, told by the place it takes in the sentence.

Most names the recognizers miss are single words from no name list and unknown to English
(``Quionia is from ...``, ``Hakuba had given ...``, ``Ubul: What a wife.``). Capitals alone
are weak evidence (every sentence starts with one, and made-up company names look the same),
but a word English does not have, in a place only a person takes, is a name:

* the subject of a verb that wants a person (``said``, ``lives``, ``spent``, ``is from``,
  ``had given``, ``will be talking``);
* the object or inverted subject of a verb of speaking or meeting (``said Maslin``,
  ``told Quionia``, ``starring Holinka``);
* the person addressed (``Warrane, can I ...``) or the speaker of a dialogue line
  (``Koppány: "Who are you?"``).

And once a name is found, every other bare occurrence of its words in the same text is the
same person (``Faina D. Yefremova ... early Yefremova``): ``repeat_names`` marks them too,
so a short mention does not leak what the full one protected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import regex

from privacy.lexicon import is_lexicon_word
from privacy.names import is_english_word, is_family_name, is_given_name
from privacy.overlaps import SpanIndex

# Verbs whose subject (or, after them, whose object) is a person, in the forms text uses.
_PERSON_VERBS = frozenset(
    """
    say said says tell told tells ask asked asks reply replied replies answer answered
    write wrote writes written think thought thinks know knew knows want wanted wants
    love loved loves like liked likes hate hated hates live lived lives living spend spent
    spends begin began begins begun smile smiled smiles laugh laughed laughs cry cried
    agree agreed agrees decide decided decides die died dies marry married marries
    graduate graduated graduates study studied studies speak spoke speaks spoken speaking
    talk talked talks talking feel felt feels give gave given gives meet met meets
    visit visited visits remember remembered remembers forget forgot forgets believe
    believed believes explain explained explains insist insisted insists admit admitted
    admits wonder wondered wonders whisper whispered whispers shout shouted shouts
    sigh sighed sighs nod nodded nods grew grow grows born teach taught teaches learn
    learned learns sleep slept sleeps eat ate eats hope hoped hopes wish wished wishes
    walk walked walks sit sat sits stood stands
    """.split()  # noqa: SIM905
)
# Between a subject and its verb: auxiliaries and adverbs.
_AUX = frozenset(
    """
    is was has had will would can could did does do should must might may shall
    """.split()  # noqa: SIM905
)
_ADVERBS = frozenset(
    [
        "not",
        "never",
        "always",
        "also",
        "just",
        "really",
        "still",
        "already",
        "then",
        "often",
        "usually",
        "be",
        "been",
        "being",
    ]
)
# ``X is from ...``, ``X was very ...``: after is/was, words that describe a person.
_AFTER_BE = frozenset(["from", "very", "so", "too", "quite", "always", "never", "really"])
# Before an object: ``said Maslin``, ``starring Holinka``, ``met Quionia``.
_OBJECT_VERBS = frozenset(
    """
    said says asked asks told tells replied replies added whispered shouted thanked
    met meets married marries hired called emailed texted phoned messaged visited
    kissed hugged starring featuring introducing
    """.split()  # noqa: SIM905
)
# ``Warrane, can I ...``: after the name and a comma, words that address someone.
_VOCATIVE_NEXT = frozenset(
    """
    can could would will please do did are is have i you we thank thanks how what where
    when why who let
    """.split()  # noqa: SIM905
)


def unknown_word(word: str) -> bool:
    """Neither English (~83,000 lemmas and their inflections) nor a listed name."""
    return not is_lexicon_word(word) and not is_given_name(word) and not is_family_name(word)


def in_person_role(run: Sequence[Any]) -> bool:
    """The spaCy tokens ``run`` (a capitalised run) stand where a person stands."""
    doc = run[0].doc
    first, last = run[0].i, run[-1].i
    after = [t.lower_ for t in doc[last + 1 : last + 5]]
    before = [t.lower_ for t in doc[max(0, first - 2) : first]]
    if after[:1] == [","] and len(after) > 1 and after[1] in _VOCATIVE_NEXT:
        return _sentence_start(doc, first)
    if before and before[-1] in _OBJECT_VERBS:
        return True
    i = 0
    if after[:1] and after[0] in _AUX:
        if after[0] in {"is", "was"} and len(after) > 1 and after[1] in _AFTER_BE:
            return True
        i = 1
        while i < len(after) and after[i] in _ADVERBS:
            i += 1
    return i < len(after) and after[i] in _PERSON_VERBS


def _sentence_start(doc: Any, i: int) -> bool:
    j = i - 1
    while j >= 0 and doc[j].is_space:
        j -= 1
    return j < 0 or doc[j].text in {".", "!", "?", '"', "“", ">", "-", "*"} or "\n" in doc[j].text


# ``Koppány: "Who are you?"``, ``> Ubul: What a wife.``: a speaker's name heading a line,
# with what they said after the colon on the same line (a field label has its value on the
# next line, or is an English word: ``Address:``, ``Website:``).
SPEAKER = regex.compile(
    r"^[ \t>*-]*(?P<name>\p{Lu}[\p{Ll}\p{M}'’-]+(?:[ \t]+\p{Lu}[\p{Ll}\p{M}'’-]+)?)"
    r"[ \t]*:[ \t]*(?=[\"“'‘\p{L}])",
    regex.MULTILINE,
)


def speaker_names(text: str) -> list[tuple[int, int]]:
    """Spans of speaker names: every word a listed name or unknown to English, none an
    English word first (``Will:``, ``Note:``, ``Bot:``)."""
    spans = []
    for m in SPEAKER.finditer(text):
        words = m.group("name").split()
        if all(
            not is_english_word(w) and (is_given_name(w) or is_family_name(w) or unknown_word(w))
            for w in words
        ):
            spans.append((m.start("name"), m.end("name")))
    return spans


_WORD = regex.compile(r"[\p{L}\p{M}]+(?:['’-][\p{L}\p{M}]+)*")


def repeat_names(text: str, names: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Other bare occurrences of the words of the names found at ``names`` (spans of
    ``text``): ``(start, end, index of the name it repeats)``. Only words that identify
    (a listed name or a word English does not have, two letters or more), matched whole
    and in the same case, outside every name span."""
    cased = any(c.isupper() for c in text)
    words: dict[str, int] = {}
    for k, (start, end) in enumerate(names):
        for m in _WORD.finditer(text, start, end):
            w = m.group(0).removesuffix("'s").removesuffix("’s")
            if len(w) < 2 or (cased and not w[0].isupper()) or is_english_word(w):
                continue
            if is_given_name(w) or is_family_name(w) or not is_lexicon_word(w):
                words.setdefault(w, k)
    if not words:
        return []
    pattern = regex.compile(
        r"(?<![\p{L}\p{M}'’-])(?:"
        + "|".join(regex.escape(w) for w in sorted(words, key=len, reverse=True))
        + r")(?![\p{L}\p{M}]|-\p{L}|['’](?!s(?![\p{L}\p{M}]))\p{L})"
    )
    taken = SpanIndex(names)
    return [
        (m.start(), m.end(), words[m.group(0)])
        for m in pattern.finditer(text)
        if not taken.overlaps(m.start(), m.end())
    ]
