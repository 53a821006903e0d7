"""Recognizers ragtrust adds to Presidio's, for what the PII evaluation showed it misses.

Out of the box, Presidio has no street-address recognizer at all (spaCy's GPE/LOC only tags
the city or the country, so the street and house number leak), finds phone numbers only in
eight national formats, and misses names the small spaCy model does not know. Each class here
is a plain ``EntityRecognizer`` so it plugs into Presidio's registry and context enhancer.

These recognizers are case-sensitive on purpose (capitalisation is most of what marks a
street or a name), so they use their own compiled patterns instead of ``PatternRecognizer``,
which applies the analyzer's global IGNORECASE flag.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import regex
import tldextract
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    LocalRecognizer,
    RecognizerResult,
)
from presidio_analyzer.predefined_recognizers import EmailRecognizer, SpacyRecognizer

from privacy.lexicon import is_lexicon_word
from privacy.names import COMMON_WORDS, is_english_word, is_family_name, is_given_name
from privacy.person_roles import in_person_role, speaker_names, unknown_word

# A capitalised word in any script (Koskikatu, Præstevænget, ΑΓΛΑΝΤΖΙΑ), possibly with an
# inner apostrophe or hyphen (O'Neil, Saint-Priest).
CAP = r"\p{Lu}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*\.?"
# Any word, for text that was lowercased as a whole (where case says nothing).
WORD = r"\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*\.?"
# Lowercase particles that appear inside street names and person names.
PARTICLE = (
    r"(?:nad|pod|am|an|sur|upon|de|da|do|dos|das|del|della|delle|dei|di|du|des|la|le|van|von|"
    r"der|den|ten|ter|y|e|al|el|bin|z|u|na|v)"
)
# Street types: the USPS Publication 28 suffixes (C1) and common abbreviations.
STREET_WORD = (
    r"(?:Street|St|Str|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Courts|Ct|Place|Pl|"
    r"Square|Sq|Terrace|Way|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Alley|Row|Crescent|"
    r"Close|Grove|Groves|Gardens|Hill|Hills|Park|Parks|Plaza|Walk|Bridge|Brook|Brooks|Burg|"
    r"Bypass|Camp|Canyon|Cape|Causeway|Center|Centre|Club|Common|Commons|Corner|Corners|"
    r"Course|Cove|Coves|Creek|Crest|Crossing|Crossroad|Curve|Dale|Dam|Divide|Estate|Estates|"
    r"Expressway|Extension|Falls|Ferry|Field|Fields|Flat|Flats|Ford|Fords|Forest|Forge|Forges|"
    r"Fork|Forks|Fort|Freeway|Garden|Gateway|Glen|Glens|Green|Greens|Harbor|Harbors|Haven|"
    r"Heights|Hollow|Inlet|Island|Islands|Isle|Junction|Junctions|Key|Keys|Knoll|Knolls|Lake|"
    r"Lakes|Landing|Light|Lights|Lock|Locks|Lodge|Loop|Mall|Manor|Manors|Meadow|Meadows|Mews|"
    r"Mill|Mills|Mission|Motorway|Mount|Mountain|Mountains|Neck|Orchard|Oval|Overpass|Pass|"
    r"Passage|Path|Pike|Pine|Pines|Plain|Plains|Point|Points|Port|Ports|Prairie|Radial|Ramp|"
    r"Ranch|Rapid|Rapids|Rest|Ridge|Ridges|River|Roads|Route|Run|Shoal|Shoals|Shore|Shores|"
    r"Skyway|Spring|Springs|Spur|Spurs|Squares|Station|Stravenue|Stream|Streets|Summit|"
    r"Throughway|Trace|Track|Trafficway|Tunnel|Turnpike|Underpass|Union|Unions|Valley|"
    r"Valleys|Viaduct|View|Views|Village|Villages|Ville|Vista|Walks|Wall|Ways|Well|Wells)"
    r"\.?(?![\p{L}])"
)
STREET_PREFIX = (
    r"(?:Via|Viale|Vicolo|Piazza|Corso|Largo|Rue|rue|Avenue|avenue|Boulevard|boulevard|Chemin|"
    r"chemin|Allée|allée|Impasse|impasse|Place|place|Calle|C/|Avenida|Av\.|Rua|Rúa|Travessa|"
    r"Praça|Paseo|Camino|Plaza|Carrer|Avda\.|Av|ul\.|ulica|Ulica|al\.|aleja|Aleja|os\.|pl\.|"
    r"Straße|Strasse|Str\.|Platz|Weg|Trg|trg|Λεωφόρος|Λ\.|Οδός)"
)
# Endings of one-word street names, and street-type words written after the name, in the
# languages European addresses use (Koskikatu, Hersnapvej, Trenerys gate, Piroska u.).
STREET_SUFFIX = (
    r"(?:straße|strasse|str\.?|gasse|weg|platz|allee|ring|damm|laan|straat|plein|gracht|"
    r"kade|dijk|steeg|singel|gatan|vägen|gränd|torget|gade|vej|vænget|alle|allé|veien|vei|"
    r"vegen|gata|gate|katu|tie|tee|kuja|polku|tanev|utca|u\.|út|útja|tér|körút|rkp\.|kapu|"
    r"ulica|ulice|cesta|ovo|ská|street|road|avenue|lane|drive|way)"
)
UNIT = r"(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Fl\.|Room|Box|No\.|Nr\.)[ \t]*\#?\d+\w?"
# A house number: 12, 12a, 12-14, 12/3 (but not 70s, a decade).
NUM = r"\d{1,6}(?:[A-Za-rt-z](?![\p{L}]))?(?:[/-]\d{1,4}[A-Za-z]?)?"
# Inside a street name in mixed-case text a lowercase word may appear (útja, kapu, tee),
# but not the English function words that join a number and a noun in prose.
_PROSE = (
    r"(?:and|or|but|the|a|an|to|of|in|on|at|for|with|from|by|is|are|was|were|be|been|has|"
    r"have|had|will|would|can|could|i|you|he|she|we|they|it|my|your|our|their|his|her|this|"
    r"that|these|those|then|than|more|less|over|under|about|after|before|per|each|every|"
    r"all|some|any|no|not|only|also|as|so|if|when|who|which|what|where|why|how|into|up|out|"
    r"days?|weeks?|months?|years?|hours?|minutes?|times?|people|employees?|items?|pages?)"
)


def _address_pattern(cased: bool) -> str:
    """The address grammar. ``cased``: capitalisation marks names (the usual case); else the
    text was lowercased as a whole and any word may be part of a street or a city."""
    cap = CAP if cased else WORD
    low = rf"(?!{_PROSE}(?![\p{{L}}]))\p{{Ll}}[\p{{Ll}}\p{{M}}]*\.?"
    inner = rf"(?:{cap}|{PARTICLE}|{low})" if cased else rf"(?:(?!{_PROSE}(?![\p{{L}}])){WORD})"
    suffix = rf"(?i:{STREET_SUFFIX})"
    part = rf"(?:{NUM}|{cap}|{PARTICLE}|{STREET_WORD}|(?i:str\.?))"
    street = rf"""
        (?:
            (?:{NUM}[ \t]+)?(?:{STREET_PREFIX}[ \t]+)?(?!and\b){part}
            (?:[ \t]+(?!and\b)(?:{NUM}|{inner})){{0,5}}
        )
    """
    corner = rf"""
        (?i:the[ \t]+)?(?i:corner)[ \t]+of[ \t]+{street}[ \t]+and[ \t]+
        (?:(?:{PARTICLE}|\p{{Ll}}+)[ \t]+)?{part}(?:[ \t]+{part}){{0,3}}
    """
    core = rf"""
    (?:
        {corner}
      | (?:\d{{1,6}}[ \t]+)?(?i:P\.?[ \t]?O\.?[ \t]+Box[ \t]+\d{{1,6}})
      | (?:{UNIT}[ \t]+)?(?:\d{{1,6}}[ \t]+(?=\d))?     # a second leading number: 846 31 Rue
      (?:
        (?i:(?:Unit|PSC)[ \t]\d{{3,5}},?[ \t]+Box[ \t]\d{{3,5}}
            [ \t]*[\n,]?[ \t]*[AD]PO[ \t]+A[AEP][ \t]+\d{{5}})
      | (?i:(?:USNS|USNV|USS|USCGC)[ \t]+{WORD}(?:[ \t]+{WORD})?
            [ \t]*[\n,]?[ \t]*FPO[ \t]+A[AEP][ \t]+\d{{5}})
      | {NUM}[ \t]+(?:{STREET_PREFIX}[ \t]+)?{cap}(?:[ \t]+{inner}){{0,4}}
            [ \t]+{NUM}(?![\p{{L}}\d])\.?
      | {NUM}[ \t]+(?:(?:{cap}|{PARTICLE})[ \t]+){{0,4}}{STREET_WORD}
      | {NUM}[ \t]+{STREET_PREFIX}[ \t]+(?:{inner}[ \t]+){{0,4}}{cap}
      | {STREET_PREFIX}[ \t]+(?:{inner}[ \t]+){{0,4}}{cap}[ \t]+{NUM}(?![\p{{L}}\d])\.?
      | (?:{cap}[ \t]+){{0,3}}\p{{L}}{{3,}}{suffix}[ \t]+{NUM}(?![\p{{L}}\d])\.?        # Jagerij 64
      | (?:{cap}[ \t]+){{0,3}}\p{{L}}+[ \t]+{suffix}[ \t]+{NUM}(?![\p{{L}}\d])\.?
      )
      (?:[ \t]+(?:St|Street|Rd|Road|Ave)\.?(?![\p{{L}}]))?
    )
    """
    # A city or a country never ends in a full stop: ``Paris.`` ends the sentence.
    city = cap.removesuffix(r"\.?")
    tail_word = (
        rf"(?:{city}|{PARTICLE}|\(|\)|[\p{{Lu}}\p{{M}}]+)"
        rf"(?:[ \t]+(?:{city}|{PARTICLE}|\(?[\p{{Lu}}\p{{M}}()]+\)?)){{0,3}}"
        if cased
        else rf"(?!{_PROSE}(?![\p{{L}}])){WORD}(?:[ \t]+(?!{_PROSE}(?![\p{{L}}])){WORD}){{0,2}}"
    )
    tail = rf"""
    (?:
        {UNIT}
      | \d{{4,6}}(?:-\d{{3,4}})?                           # postcode
      | (?:\p{{Lu}}{{2}}|nan)(?:[ \t]+\d{{4,6}})?            # region code (+ postcode)
      | \(?{tail_word}\)?(?:[ \t]+\d{{4,6}}(?:-\d{{3,4}})?)?  # city / country (+ postcode)
    )
    """
    if not cased:
        tail = tail.replace(r"\p{Lu}{2}", r"\p{Ll}{2}")
    # Between the parts of a label: a comma, line breaks with quoting or bullet marks
    # (``\n> ``, ``\n??? ``), or spaces (spaces only before a unit or a number when the
    # text is lowercased, where a city cannot be told from the next sentence).
    sep = (
        r"(?:[ \t]*,[ \t]*(?:\n[ \t]*)?(?:[^\w\s]{1,3}[ \t]*)?"
        r"|(?:[ \t]*\n)+[ \t]*(?:[^\w\s,]{1,3}[ \t]*)?,?[ \t]*"
        + (r"|[ \t]+)" if cased else rf"|[ \t]+(?=(?i:{UNIT})|\d))")
    )
    return rf"(?<![\p{{L}}\d]){core}(?:{sep}(?![\p{{Lu}}][\p{{L}}]*:){tail}(?![\p{{L}}\d])){{0,6}}"


ADDRESS = regex.compile(_address_pattern(cased=True), regex.VERBOSE)
ADDRESS_LOWERCASED = regex.compile(_address_pattern(cased=False), regex.VERBOSE | regex.IGNORECASE)
# A name and a house number with no street type (Pod Floriánem 1677, Peter Zuidhove 188):
# as likely a product or a chapter, so it needs an address context word.
WEAK_ADDRESS = regex.compile(
    rf"(?<![\p{{L}}\d])(?:{STREET_PREFIX}[ \t]+)?{CAP}(?:[ \t]+(?:{CAP}|{PARTICLE})){{0,2}}"
    rf"[ \t]+{NUM}(?![\p{{L}}\d])"
)
# A named street without a number (shows on Marina Fort Street): weak unless the type is
# spelled out.
NAMED_STREET = regex.compile(
    rf"(?<![\p{{L}}\d]){CAP}(?:[ \t]+{CAP}){{0,2}}[ \t]+(?P<type>{STREET_WORD})"
)
_SPELLED_OUT = frozenset({"Street", "Avenue", "Road", "Boulevard", "Lane", "Drive"})
_LABEL_ONLY = regex.compile(rf"^(?:{UNIT})$")
STREET_TYPES = frozenset(
    w.casefold() for w in regex.findall(r"[A-Za-z]+", STREET_WORD.split("\\.?")[0])
)
ADDRESS_CONTEXT = [
    "address", "addresses", "live", "lives", "living", "located", "moved", "move", "street",
    "station", "ship", "shipping", "deliver", "delivery", "billing", "mail", "send", "sent",
    "return", "corner", "visit", "meet", "reside", "resides", "office", "headquarters",
]  # fmt: skip


class _Recognizer(LocalRecognizer):
    """A local recognizer for one entity type, named after its class, with nothing to load."""

    ENTITY = ""
    CONTEXT: list[str] = []

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entities=[self.ENTITY],
            supported_language=supported_language,
            context=list(self.CONTEXT) or None,
            name=type(self).__name__,
        )

    def load(self) -> None:
        pass


def _result(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float
) -> RecognizerResult:
    """A result the context enhancer can annotate (it needs an explanation object)."""
    name = str(getattr(recognizer, "name", type(recognizer).__name__))
    return RecognizerResult(
        entity,
        start,
        end,
        score,
        analysis_explanation=AnalysisExplanation(
            recognizer=name, original_score=score, textual_explanation=name
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


class StreetAddressRecognizer(_Recognizer):
    """Street addresses: a numbered street line plus the unit/city/region/country/postcode
    lines that follow it, so the whole label is one span and nothing of it leaks. A bare
    ``Name 12`` scores low and needs an address context word."""

    SCORE = 0.6
    NAMED_SCORE = 0.45
    WEAK_SCORE = 0.3

    ENTITY = "STREET_ADDRESS"
    CONTEXT = ADDRESS_CONTEXT

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results = []
        pattern = ADDRESS if _has_case(text) else ADDRESS_LOWERCASED
        for m in pattern.finditer(text):
            span = m.group(0).rstrip(" \t\n,>")
            if _LABEL_ONLY.match(span):
                continue
            end = m.start() + len(span)
            results.append(_result(self, "STREET_ADDRESS", m.start(), end, self.SCORE))
        covered = [(r.start, r.end) for r in results]
        for m in WEAK_ADDRESS.finditer(text):
            words = regex.findall(r"\p{L}+", m.group(0))
            if all(is_english_word(w) for w in words):
                continue  # Order 4471, Chapter 5, Version 2
            if not any(s <= m.start() < e for s, e in covered):
                results.append(_result(self, "STREET_ADDRESS", m.start(), m.end(), self.WEAK_SCORE))
        for m in NAMED_STREET.finditer(text):
            if not any(s <= m.start() < e for s, e in covered):
                kind = m.group("type").rstrip(".")
                score = self.NAMED_SCORE if kind in _SPELLED_OUT else self.WEAK_SCORE
                results.append(_result(self, "STREET_ADDRESS", m.start(), m.end(), score))
        return results


def _has_case(text: str) -> bool:
    """False for text lowercased as a whole: then capitals say nothing about names."""
    return any(c.isupper() for c in text)


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
        \b(?:[Mm]y|[Hh]is|[Hh]er|[Tt]heir)\s+(?:(?:full|last|first|maiden|middle)\s+)?name\s+is\s+
      | \b[Yy]our\s+(?:(?:full|last|first|maiden|middle)\s+)?name\s*\?\s+   # ... name? Arcuri
      | \b(?:I\s+am|I'm|[Cc]alled|[Nn]amed|[Ss]igned|[Rr]egards,?|[Tt]hanks,?)\s+
      | \b(?:[Cc]alls?|[Cc]alled)\s+me\s+
      | \b(?:[Dd]ear|[Hh]i|[Hh]ello)\s+
      | \b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Mme|Mlle|Herr|Frau|Sr|Sra)\.?\s+
      | \b(?i:mr|mrs|ms|dr|prof)\.\s+
      | \b(?:[Mm]y|[Hh]is|[Hh]er|[Oo]ur|[Yy]our|[Tt]heir)\s+(?:{_KIN})\s+
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


PHONE = regex.compile(
    r"""
    (?<![\w.+/-])
    (?:
        (?P<intl>(?:\+|00)\d{1,3}[\s.-]?(?:\(0\)\s?)?(?:\(\d{1,4}\)|\d{1,4})(?:[\s.-]?\d{2,4}){1,4})
      | (?P<nanp>\(\d{3}\)[\s.-]?\d{3}[\s.-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}(?![.-]\d))
      | \(\d{2,4}\)[\s.-]?\d{2,4}(?:[\s.-]?\d{2,4}){1,3}
      | \d{2,4}(?:[\s.-]\d{2,4}){1,4}
      | \d{7,11}
    )
    (?:\s?(?:x|ext\.?)\s?\d{1,5})?
    (?![\w.-]*\d)
    """,
    regex.VERBOSE,
)
PHONE_CONTEXT = [
    "phone", "telephone", "tel", "cell", "cellphone", "mobile", "call", "fax", "desk", "office",
    "number", "contact", "reach", "text", "sms", "whatsapp", "message", "dial", "answer",
    "answering", "home", "work", "ring",
]  # fmt: skip
# Numbers introduced as something else are not phone numbers, whatever their layout.
NOT_PHONE_CONTEXT = frozenset(
    {"license", "licence", "passport", "ssn", "account", "order", "invoice", "iban", "card",
     "policy", "ticket", "id", "tracking", "routing", "serial", "isbn"}
)  # fmt: skip


class InternationalPhoneRecognizer(_Recognizer):
    """Phone numbers in any national layout (``0496 46 46 70``, ``+41 (0)85 806 98 67``).

    An international (``+44 ...``) or North American (``(212) 555-0199``) layout is medium
    evidence on its own; other digit groups are weak (an order number looks the same), so
    they score low and need a context word (``call``, ``Mobile:``) to pass the threshold.
    Replaces Presidio's ``PhoneRecognizer``, whose phonenumbers matcher rescans the text once
    per region and costs more than all the regexes together."""

    SCORE = 0.3
    STRONG_SCORE = 0.5

    ENTITY = "PHONE_NUMBER"
    CONTEXT = PHONE_CONTEXT

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results = []
        for m in PHONE.finditer(text):
            digits = sum(c.isdigit() for c in m.group(0))
            if not 7 <= digits <= 15:
                continue
            before = text[max(0, m.start() - 40) : m.start()].casefold()
            if NOT_PHONE_CONTEXT & set(regex.findall(r"\w+", before)[-4:]):
                continue
            score = self.STRONG_SCORE if (m.group("intl") or m.group("nanp")) else self.SCORE
            results.append(_result(self, "PHONE_NUMBER", m.start(), m.end(), score))
        return EntityRecognizer.remove_duplicates(results)


SSN_SHAPE = regex.compile(r"(?<![\w-])\d{3}[- ]\d{2}[- ]\d{4}(?![\w-])")


class SsnShapeRecognizer(_Recognizer):
    """``SSN 078-05-1120``: Presidio's SSN recognizer rejects numbers that are not valid
    SSNs (sample and never-issued ones), but a number written as an SSN next to the word
    is the customer's SSN to hide, valid or not. Needs a context word."""

    SCORE = 0.3

    ENTITY = "US_SSN"
    CONTEXT: list[str] = ["ssn", "ssns", "social", "security", "ss", "ssid"]

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        return [
            _result(self, "US_SSN", m.start(), m.end(), self.SCORE)
            for m in SSN_SHAPE.finditer(text)
        ]


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating domains against tldextract's bundled
    public-suffix snapshot: the stock one downloads the list on first use, which must
    never happen inside the boundary (and fails offline after a long timeout)."""

    @cached_property
    def _tld(self) -> tldextract.TLDExtract:
        return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    def validate_result(self, pattern_text: str) -> bool:
        return bool(self._tld(pattern_text.split("@")[-1]).suffix)


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
            judged = self._judge(run, cased)
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
        if any(not t.is_space or "\n" in t.text for t in tok.doc[run[-1].i + 1 : tok.i]):
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


CARD = regex.compile(
    r"(?<![\w.+-])(?:\d{4}[ -]){2,3}\d{1,7}(?![\w-])|(?<![\w.+-])\d{12,19}(?![\w-])"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class CardNumberRecognizer(_Recognizer):
    """Card numbers Presidio's recognizer skips: 2-series Mastercard, 19-digit Visa,
    12-digit Maestro. Luhn-valid runs score medium; others need a ``card`` context word,
    since a mistyped card number in a complaint is still the customer's card number."""

    ENTITY = "CREDIT_CARD"
    CONTEXT: list[str] = ["card", "credit", "debit", "visa", "mastercard", "amex", "maestro", "cc"]

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results = []
        for m in CARD.finditer(text):
            digits = "".join(c for c in m.group(0) if c.isdigit())
            if 12 <= len(digits) <= 19:
                score = 0.5 if luhn_ok(digits) else 0.1
                results.append(_result(self, "CREDIT_CARD", m.start(), m.end(), score))
        return results
