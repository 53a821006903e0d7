"""Recognizers ragtrust adds to Presidio's, for what the PII evaluation showed it misses.

Out of the box, Presidio has no street-address recognizer at all (spaCy's GPE/LOC only tags
the city or the country, so the street and house number leak), finds phone numbers only in
eight national formats, and misses names the small spaCy model does not know (those
recognizers are in ``privacy.persons``). Each class here is a plain ``EntityRecognizer`` so it
plugs into Presidio's registry and context enhancer.

These recognizers are case-sensitive on purpose (capitalisation is most of what marks a
street or a name), so they use their own compiled patterns instead of ``PatternRecognizer``,
which applies the analyzer's global IGNORECASE flag.
"""

from __future__ import annotations

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
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from privacy.names import is_english_word

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


PHONE = regex.compile(
    r"""
    (?<![\w.+/-])
    (?:  # digit groups stay on one line: a phone never spans lines
        (?P<intl>(?:\+|00)\d{1,3}[ \t.-]?(?:\(0\)[ \t]?)?
                 (?:\(\d{1,4}\)|\d{1,4})(?:[ \t.-]?\d{2,4}){1,4})
      | (?P<nanp>\(\d{3}\)[ \t.-]?\d{3}[ \t.-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}(?![.-]\d))
      | \(\d{2,4}\)[ \t.-]?\d{2,4}(?:[ \t.-]?\d{2,4}){1,3}
      | \d{2,5}(?:[ \t.-]\d{2,8}){1,4}
      | \d{7,11}
    )
    (?:[ \t]?(?:x|ext\.?)[ \t]?\d{1,5})?
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
            if not (7 if m.group(0).isdigit() else 6) <= digits <= 15:
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
