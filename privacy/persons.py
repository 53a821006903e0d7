"""Person recognizers: names the small spaCy model misses, and spaCy PERSON spans that are
plainly not people.

The small NER knows English and American names; the evaluation's misses were names from
other languages (``Tomomi Nishiyama``, ``Faina D. Yefremova``), names introduced by a cue
(``my name is``, ``Mrs.``, ``my kid Tadzio``), dialogue speakers, and its false alarms were
title-case English (``Guilty Pleasures``) and organisations made of family names. Each class
is a plain Presidio recognizer; the shared grammar (``CAP``, ``PARTICLE``) and the street
types they must not swallow come from ``privacy.recognizers``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from privacy.lexicon import is_lexicon_word
from privacy.names import COMMON_WORDS, is_english_word, is_family_name, is_given_name
from privacy.person_roles import in_person_role, speaker_names, unknown_word
from privacy.recognizers import (
    CAP,
    PARTICLE,
    STREET_TYPES,
    WORD,
    _has_case,
    _Recognizer,
    _result,
)

_NAME = rf"{CAP}(?:[ \t]+(?:{PARTICLE}[ \t]+)?{CAP}){{0,3}}"
# ``my kid Tadzio``, ``her husband Ubul``: a relative or a close person named after it.
_KIN = (
    r"(?:kid|kids|son|daughter|child|baby|wife|husband|partner|fianc[ée]e?|boyfriend|"
    r"girlfriend|brother|sister|mother|father|mom|mum|dad|grandson|granddaughter|grandma|"
    r"grandpa|grandmother|grandfather|uncle|aunt|cousin|nephew|niece|friend|colleague|"
    r"boss|manager|neighbou?r|roommate|flatmate|doctor|lawyer|teacher|student|assistant)"
)
_CUE = rf"""
    (?:
        \b(?:[Mm]y|[Hh]is|[Hh]er|[Oo]ur|[Yy]our|[Tt]heir)\s+   # my kid Tadzio, name? Arcuri
        (?:(?:(?:full|last|first|maiden|middle)\s+)?name(?:\s+is|\s*\?)|{_KIN})\s+
      | \b(?:I\s+am|I'm|[Cc]alled|[Nn]amed|[Ss]igned|[Rr]egards,?|[Tt]hanks,?)\s+
      | \b(?:[Cc]alls?|[Cc]alled)\s+me\s+
      | \b(?:[Dd]ear|[Hh]i|[Hh]ello)\s+
      | \b(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Mme|Mlle|Herr|Frau|Sr|Sra)\.?
            |(?:mr|mrs|ms|dr|prof)\.)\s+
      | ^[ \t]*(?:Name|Full\ name|Patient|Customer|Contact|Attn|Directed\ By|Written\ By|Author)
        [ \t]*:[ \t]*
    )
"""
PERSON_CUES = regex.compile(rf"{_CUE}(?P<name>{_NAME})", regex.VERBOSE | regex.MULTILINE)
# In lowercased text: the same cues, then up to three words that are not English words.
PERSON_CUES_LOWERCASED = regex.compile(
    rf"{_CUE}(?P<name>{WORD}(?:[ \t]+{WORD}){{0,2}})",
    regex.VERBOSE | regex.MULTILINE | regex.IGNORECASE,
)
_NOT_NAMES = frozenset(
    {"I", "The", "This", "That", "It", "Here", "There", "Sorry", "Thanks", "Please", "Yes", "No",
     "Not", "Just", "Going", "Looking", "Calling", "Writing", "Moving", "From", "In", "On", "At"}
)  # fmt: skip


class PersonCueRecognizer(_Recognizer):
    """Names introduced by a cue (``my name is``, a title, a ``Name:`` field), which the small
    spaCy model misses when the name is rare in English text."""

    SCORE = 0.7

    ENTITY = "PERSON"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results = []
        cased = _has_case(text)
        for m in (PERSON_CUES if cased else PERSON_CUES_LOWERCASED).finditer(text):
            words = m.group("name").split()
            if cased and words[0] in _NOT_NAMES:
                continue
            keep = []
            for w in words:  # Mrs. Barbara Yudina Apt. 675: the name stops at the unit
                bare = w.casefold().rstrip(".")
                if bare in NOT_PERSON_WORDS or (not cased and _lowercase_non_name(bare)):
                    break
                keep.append(w)
            if not keep:
                continue
            start = m.start("name")
            end = text.index(keep[-1], start) + len(keep[-1].rstrip("."))
            results.append(_result(self, "PERSON", start, end, self.SCORE))
        return results


def _lowercase_non_name(word: str) -> bool:
    """In lowercased text: an English word that no name list has (``my friend said``)."""
    return word in COMMON_WORDS or (
        is_lexicon_word(word) and not (is_given_name(word) or is_family_name(word))
    )


ORG_WORDS = frozenset(
    """
    inc ltd llc plc corp corporation company co group holdings bank university college
    school institute consulting technologies technology systems solutions services
    partners associates labs foundation agency capital financial insurance airlines motors
    media network networks software international global ventures industries enterprises
    trust fund club hotel hospital church museum council ministry department office court
    orchestra band records studio studios weekly daily times news magazine journal press
    sons brothers gmbh ag sa spa bv nv ab oy as kk
    """.split()  # noqa: SIM905
)
# Proper nouns that are not people and that the tagger marks PROPN all the same.
NOT_PERSON_WORDS = frozenset(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday bot user admin customer agent
    street road avenue apt suite unit box iban ssn visa mastercard amex email phone mobile
    fax desk office mr mrs ms dr prof sir address name website info personal
    """.split()  # noqa: SIM905
)
PLACE_PREPOSITIONS = frozenset({"in", "at", "of", "from", "to", "near", "into", "via", "across"})
# Labels of the NER that say a span is something other than a person.
NOT_PERSON_LABELS = frozenset(
    {"GPE", "LOC", "FAC", "ORG", "NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE",
     "DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "CARDINAL"}
)  # fmt: skip
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC", "NORP", "DATE", "TIME", "MONEY", "CARDINAL"})
_NAME_TOKEN = regex.compile(r"^\p{Lu}[\p{L}\p{M}'’-]*\.?$")
_INITIAL = regex.compile(r"^\p{Lu}\.?$")
_LOWERCASE_ORG_SUFFIXES = ORG_WORDS - COMMON_WORDS
# Inside a name: Maika van de Noort, Willemine ten Pas, Rui dos Santos, Anna di Lauro.
_NAME_PARTICLES = frozenset(
    "van von de der den ten ter da di del della dos das do du".split()  # noqa: SIM905
)


# Endings that mark family names across Europe (Yefremova, Szczepańska, Jeknić,
# Guðmundsdóttir, Petrussen, Kovalenko), checked on words that are not English.
SURNAME_ENDING = regex.compile(
    r"(?:ov|ova|ová|ev|eva|ski|ska|sky|ský|ská|cki|cka|ić|vić|vich|ovich|evich|sson|sen|"
    r"dóttir|dottir|enko|chuk|yuk|escu|poulos|idis|akis|ishvili|adze|oglu|oğlu|ez|yan|ian|"
    r"nen|inen|ainen|mann|berg|ström|strom|gård|quist|qvist)$"
)


@dataclass
class _Run:
    tokens: list[Any]
    score: float


class NamePersonRecognizer(_Recognizer):
    """Names the small spaCy model misses (``Tomomi Nishiyama``, ``Faina D. Yefremova``),
    found as runs of capitalised words with name evidence:

    * a given name from the name lists (0.6), or a first-initial-last shape
      (``Ravil G Yefimov``);
    * a family name from the lists or with a family-name ending (``-ová``, ``-dóttir``)
      that the NER does not call a place (0.5);
    * coordination with a name (``Usamov and Bowers``, ``Efimiya, Mary, Ariana``) (0.5);
    * a word English does not have, where only a person stands (``Quionia is from``,
      ``said Maslin``; ``person_roles``), also when the NER called it a place, or two or
      more such words in a row that the NER does not call a place (``Irenke Sörös``) (0.45).

    Runs ending in a street type or holding an organisation word are not names; runs with no
    evidence score below the default threshold (0.35: a tenant that wants the wide net lowers
    PERSON's threshold). In text lowercased as a whole, runs of listed given names
    (``patricia desrosiers``)."""

    GIVEN_SCORE = 0.6
    FAMILY_SCORE = 0.5
    ROLE_SCORE = 0.45
    UNKNOWN_SCORE = 0.35
    WEAK_SCORE = 0.3

    ENTITY = "PERSON"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        doc = getattr(nlp_artifacts, "tokens", None)
        if doc is None:
            return []
        cased = _has_case(text)
        runs: list[_Run] = []
        run: list[Any] = []
        for tok in [*doc, None]:
            if run and tok is not None and tok.is_space and "\n" not in tok.text:
                continue  # Lara  Fiorentino: an extra space is its own token
            if tok is not None and self._extends(run, tok, cased):
                run.append(tok)
                continue
            judged = self._judge(run, cased) if run else None
            if judged is not None:
                runs.append(judged)
            run = [tok] if tok is not None and self._starts(tok, cased) else []
        self._coordinate(runs)
        return [
            _result(self, "PERSON", r.tokens[0].idx, r.tokens[-1].idx + len(r.tokens[-1]), r.score)
            for r in runs
        ]

    @staticmethod
    def _starts(tok: Any, cased: bool) -> bool:
        if tok.like_url or tok.like_email or not tok.text[0].isalpha():
            return False
        if not cased:
            return (
                is_given_name(tok.text)
                or is_family_name(tok.text)
                or (len(tok.text) > 2 and tok.text.rstrip(".").isalpha() and unknown_word(tok.text))
            )
        return bool(
            _NAME_TOKEN.match(tok.text)
            and tok.text.casefold().rstrip(".") not in NOT_PERSON_WORDS
            and not (tok.is_upper and len(tok.text) > 2)  # KNIVSTA: a mailing-label city
        )

    def _extends(self, run: list[Any], tok: Any, cased: bool) -> bool:
        if not run or "\n" in run[-1].whitespace_:
            return False
        if run[-1].i + 1 != tok.i and any(
            not t.is_space or "\n" in t.text for t in tok.doc[run[-1].i + 1 : tok.i]
        ):
            return False
        if self._starts(tok, cased):
            return True
        # An initial (Faina D. Yefremova, codey m ross) or a particle (Maika van de Noort).
        if cased:
            return bool(_INITIAL.match(tok.text)) or tok.text in _NAME_PARTICLES
        return len(tok.text.rstrip(".")) == 1 and tok.text[0].isalpha()

    def _judge(self, run: list[Any], cased: bool) -> _Run | None:
        # Leading function words (The, Hello) and trailing particles are not the name.
        while run and (run[0].lower_ in COMMON_WORDS or run[0].text in {"Hello", "Hi"}):
            run = run[1:]
        while run and not self._starts(run[-1], cased) and not _INITIAL.match(run[-1].text):
            run = run[:-1]
        name = [t for t in run if not (cased and t.text in _NAME_PARTICLES)]
        words = [t.text for t in name if len(t.text.rstrip(".")) > 1]
        if not words:
            return None
        folded = [w.casefold().rstrip(".") for w in words]
        if any(w in ORG_WORDS for w in folded):
            return None
        if len(words) > 1 and folded[-1] in STREET_TYPES:
            return None  # Eriksson Bridge, Isaac Lodge: a street
        given = any(is_given_name(w) for w in words)
        if not cased:
            if given:
                return _Run(run, self.GIVEN_SCORE)
            after = run[-1].doc[run[-1].i + 1 : run[-1].i + 2].text.rstrip(".")
            if (
                len(words) > 1
                and max(map(len, words)) >= 5  # not chat shorthand (pls thx)
                and all(unknown_word(w) or is_family_name(w) for w in words)
                and after not in _LOWERCASE_ORG_SUFFIXES  # stillwater supercomputing inc.
            ):
                return _Run(run, self.ROLE_SCORE)  # guðgeir bergsveinsson, emidio p lombardo
            return None
        labels = {t.ent_type_ for t in name if t.ent_type_}
        places = bool(labels) and labels <= PLACE_LABELS
        english = [is_english_word(w) for w in words]
        family = any(
            not e and (is_family_name(w) or SURNAME_ENDING.search(w.casefold().rstrip(".")))
            for w, e in zip(words, english, strict=True)
        )
        initial = len(run) >= 3 and any(_INITIAL.match(t.text) for t in run[1:-1])
        nationality = places and len(words) == 1 and "NORP" in labels  # French, German
        if (given and not nationality) or (initial and not any(english)):
            score = self.GIVEN_SCORE
        elif family and not places:
            score = self.FAMILY_SCORE
        elif places or all(english):
            score = self.WEAK_SCORE
        elif len(words) > 1 and all(unknown_word(w) for w in words):
            score = self.ROLE_SCORE  # Irenke Sörös: two words English does not have
        else:
            score = self.UNKNOWN_SCORE
        doc = run[0].doc
        nxt = doc[run[-1].i + 1] if run[-1].i + 1 < len(doc) else None
        prev = doc[run[0].i - 1] if run[0].i > 0 else None
        if score < self.GIVEN_SCORE and (
            (nxt is not None and nxt.text == ":")  # Website: a field label
            or (
                prev is not None
                and prev.lower_ in PLACE_PREPOSITIONS  # grew up in Knivsta
                and (nxt is None or nxt.text not in {"'s", "’s"})  # but: from Marcil's book
            )
        ):
            score = self.WEAK_SCORE
        if (
            score < self.ROLE_SCORE
            and not any(english)
            and any(unknown_word(w) for w in words)
            and in_person_role(run)
        ):
            score = self.ROLE_SCORE  # Quionia is from ..., said Maslin: see person_roles
        return _Run(run, score)

    def _coordinate(self, runs: list[_Run]) -> None:
        """``Usamov and Bowers``: a run joined to a name by ``,``/``and``/``&`` is one too."""
        for a, b in itertools.pairwise(runs):
            gap = a.tokens[-1].doc[a.tokens[-1].i + 1 : b.tokens[0].i]
            if not 1 <= len(gap) <= 2 or any(t.lower_ not in {",", "and", "&", "or"} for t in gap):
                continue
            for x, y in ((a, b), (b, a)):
                if x.score == self.UNKNOWN_SCORE and y.score >= self.FAMILY_SCORE:
                    x.score = self.FAMILY_SCORE


class SpeakerRecognizer(_Recognizer):
    """The speaker heading a dialogue line (``Koppány: "Who are you?"``), which the token
    runs cannot see when the tokenizer glues the name to the quote (``Zuzana:"I'm``)."""

    SCORE = 0.6

    ENTITY = "PERSON"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        return [_result(self, "PERSON", s, e, self.SCORE) for s, e in speaker_names(text)]


class PersonAwareSpacyRecognizer(SpacyRecognizer):
    """Presidio's NER recognizer, minus PERSON spans that are plainly not people: ones that
    hold an organisation word (``Williamson Orchestra``), end in a street type (``Lahtinen
    Road``) or are made of English words only (``Guilty Pleasures``, ``Address``)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        kept = []
        cased = _has_case(text)
        for r in super().analyze(text, entities, nlp_artifacts):
            if r.entity_type != "PERSON":
                kept.append(r)
                continue
            # spaCy joins lines: ``Abby M. Laidlaw\nAddress`` is a name and a field label.
            offset = r.start
            for line in text[r.start : r.end].split("\n"):
                start, end = _name_core(line) if cased else (0, len(line))
                if _plausible_person(line[start:end]):
                    start += len(line[start:end]) - len(line[start:end].lstrip(" >\t"))
                    end -= len(line[start:end]) - len(line[start:end].rstrip())
                    kept.append(_result(self, "PERSON", offset + start, offset + end, r.score))
                offset += len(line) + 1
        return kept


def _name_core(line: str) -> tuple[int, int]:
    """``line`` without the lowercase words spaCy sometimes takes into a name in cased text
    (``add Ingrid Halvorsen``): they are not the name, and hiding them garbles the prompt."""
    words = list(regex.finditer(r"\S+", line))
    i, j = 0, len(words)
    while i < j and words[i].group(0)[0].islower() and words[i].group(0) not in _NAME_PARTICLES:
        i += 1
    while j > i and words[j - 1].group(0)[0].islower():
        j -= 1
    return (words[i].start(), words[j - 1].end()) if i < j else (0, 0)


def _plausible_person(span: str) -> bool:
    words = [w.casefold().rstrip(".") for w in regex.findall(r"[\p{L}\p{M}'’.-]+", span)]
    words = [w for w in words if len(w) > 1]
    if not words or any(w in ORG_WORDS for w in words):
        return False
    if len(words) > 1 and words[-1] in STREET_TYPES:
        return False
    # Guilty Pleasures, Salesperson, Cautionary Tales: English words, none a listed name.
    return not all(
        w in COMMON_WORDS or (is_lexicon_word(w) and not (is_given_name(w) or is_family_name(w)))
        for w in words
    )
