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

# A capitalised word in any script (Koskikatu, Præstevænget, ΑΓΛΑΝΤΖΙΑ), possibly with an
# inner apostrophe or hyphen (O'Neil, Saint-Priest).
CAP = r"\p{Lu}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*\.?"
# Lowercase particles that appear inside street names and person names.
PARTICLE = (
    r"(?:nad|pod|am|an|sur|upon|de|da|do|dos|das|del|della|di|du|la|le|van|von|der|den|ten|"
    r"ter|y|e|al|el|bin)"
)
STREET_WORD = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Place|Pl|"
    r"Square|Sq|Terrace|Way|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Alley|Row|Crescent|"
    r"Close|Grove|Gardens|Hill|Park|Plaza|Walk)\.?"
)
STREET_PREFIX = (
    r"(?:Via|Viale|Piazza|Corso|Largo|Rue|rue|Avenue|avenue|Boulevard|boulevard|Chemin|"
    r"chemin|Allée|allée|Impasse|impasse|Place|place|Calle|Avenida|Av\.|Rua|Travessa|Praça|"
    r"Paseo|Camino|Plaza|Carrer|Avda\.|Av|ul\.|ulica|Ulica|al\.|aleja|Aleja|os\.|pl\.|Straße|Strasse|"
    r"Str\.|Platz|Weg)"
)
# Endings of one-word street names in the languages Faker-style data and real letters use.
STREET_SUFFIX = (
    r"(?:straße|strasse|str\.|gasse|weg|platz|allee|ring|damm|laan|straat|plein|gracht|"
    r"kade|dijk|steeg|singel|gatan|vägen|gränd|torget|gade|vej|vænget|alle|allé|veien|"
    r"vegen|gata|katu|tie|kuja|polku|tanev|utca|út|tér|körút|ulica|ulice|cesta|ovo|ská|"
    r"street|road|avenue|lane|drive|way)"
)
UNIT = r"(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Fl\.|Room|Box|No\.|Nr\.)\s*\#?\d+\w?"
NUM = r"\d{1,6}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?"

_STREET = rf"""
    (?:
        {NUM}\s+(?:{STREET_PREFIX}\s+)?(?:(?:{CAP}|{PARTICLE})\s+){{0,4}}{CAP}\s+{NUM}\b\.?
      | {STREET_PREFIX}\s+(?:(?:{CAP}|{PARTICLE})\s+){{0,4}}{CAP}\s+{NUM}\b\.?
      | (?:{CAP}\s+){{0,3}}\p{{L}}+{STREET_SUFFIX}\s+{NUM}\b\.?
      | (?:{CAP}\s+){{0,3}}\p{{L}}+\s+{STREET_SUFFIX}\s+{NUM}\b\.?
      | (?:(?:{CAP}|{PARTICLE})\s+){{0,4}}(?:{STREET_WORD}|{CAP})
    )
"""
_CORE = rf"""
    (?:
        (?:the\s+)?corner\s+of\s+{_STREET}\s+and\s+{_STREET}                  # street corner
      | P\.?\s?O\.?\s+Box\s+\d{{1,6}}
      | (?:\d{{1,6}}\s+(?=\d))?                  # Faker's two leading numbers: 846 31 Rue ...
      (?:
        (?:Unit|PSC)\s\d{{3,5}},?\s+Box\s\d{{3,5}}\s*[\n,]?\s*[AD]PO\s+A[AEP]\s+\d{{5}}   # military
      | (?:USNS|USNV|USS|USCGC)\s+{CAP}(?:\s+{CAP})?\s*[\n,]?\s*FPO\s+A[AEP]\s+\d{{5}}
      | {NUM}\s+(?:{STREET_PREFIX}\s+)?(?:(?:{CAP}|{PARTICLE})\s+){{0,4}}{CAP}\s+{NUM}\b\.?
      | {NUM}\s+(?:(?:{CAP}|{PARTICLE})\s+){{0,4}}{STREET_WORD}(?![\p{{L}}])
      | {NUM}\s+{STREET_PREFIX}\s+(?:(?:{CAP}|{PARTICLE})\s+){{0,4}}{CAP}
      | {STREET_PREFIX}\s+(?:(?:{CAP}|{PARTICLE})\s+){{0,4}}{CAP}\s+{NUM}\b\.?
      | (?:{CAP}\s+){{0,3}}\p{{L}}+{STREET_SUFFIX}\s+{NUM}\b\.?                         # Jagerij 64
      | (?:{CAP}\s+){{0,3}}\p{{L}}+\s+{STREET_SUFFIX}\s+{NUM}\b\.?
      )
      (?:\s+(?:St|Street|Rd|Road|Ave)\.?(?![\p{{L}}]))?
    )
"""
# What may follow a street line in the same address: a unit, a city, a region code, a
# country, a postcode, each after a comma, a newline or a space (mailing-label layouts).
_TAIL_PART = rf"""
    (?:
        {UNIT}
      | \d{{4,6}}(?:-\d{{3,4}})?                           # postcode
      | \p{{Lu}}{{2}}(?:\s+\d{{4,6}})?                       # region code (+ postcode)
      | (?:{CAP}|{PARTICLE}|\(|\)|[\p{{Lu}}\p{{M}}]+)
        (?:[ \t]+(?:{CAP}|{PARTICLE}|\(?[\p{{Lu}}\p{{M}}()]+\)?)){{0,3}}
        (?:[ \t]+\d{{4,6}}(?:-\d{{3,4}})?)?                 # city / country (+ postcode)
    )
"""
_SEP = r"(?:[ \t]*,[ \t]*\n?[ \t]*>?[ \t]*|[ \t]*\n[ \t]*>?[ \t]*,?[ \t]*|[ \t]+)"
ADDRESS = regex.compile(
    rf"(?<![\p{{L}}\d]){_CORE}(?:{_SEP}(?![\p{{Lu}}][\p{{L}}]*:){_TAIL_PART}(?![\p{{L}}\d])){{0,6}}",
    regex.VERBOSE,
)
_LABEL_ONLY = regex.compile(rf"^(?:{UNIT})$")


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
    lines that follow it, so the whole label is one span and nothing of it leaks."""

    SCORE = 0.6

    ENTITY = "STREET_ADDRESS"
    CONTEXT: list[str] = [
        "address",
        "live",
        "lives",
        "moved",
        "street",
        "ship",
        "deliver",
        "billing",
    ]

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results = []
        for m in ADDRESS.finditer(text):
            span = m.group(0).rstrip(" \t\n,>")
            if _LABEL_ONLY.match(span):
                continue
            end = m.start() + len(span)
            results.append(_result(self, "STREET_ADDRESS", m.start(), end, self.SCORE))
        return results


_NAME = rf"{CAP}(?:\s+(?:{PARTICLE}\s+)?{CAP}){{0,3}}"
PERSON_CUES = regex.compile(
    rf"""
    (?:
        \b(?:[Mm]y|[Hh]is|[Hh]er|[Tt]heir)\s+(?:full\s+)?name\s+is\s+
      | \b(?:I\s+am|I'm|[Cc]alled|[Nn]amed|[Ss]igned|[Rr]egards,?|[Tt]hanks,?)\s+
      | \b(?:[Dd]ear|[Hh]i|[Hh]ello)\s+
      | \b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Mme|Mlle|Herr|Frau|Sr|Sra)\.?\s+
      | ^\s*(?:Name|Full\ name|Patient|Customer|Contact|Attn|Directed\ By|Written\ By|Author)\s*:\s*
    )
    (?P<name>{_NAME})
    """,
    regex.VERBOSE | regex.MULTILINE,
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
        for m in PERSON_CUES.finditer(text):
            name = m.group("name").rstrip(".")
            if name.split()[0] in _NOT_NAMES:
                continue
            start = m.start("name")
            results.append(_result(self, "PERSON", start, start + len(name), self.SCORE))
        return results


PHONE = regex.compile(
    r"""
    (?<![\w.+/-])
    (?:
        (?:\+|00)\d{1,3}[\s.-]?(?:\(0\)\s?)?(?:\(\d{1,4}\)|\d{1,4})(?:[\s.-]?\d{2,4}){1,4}
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
    "number", "contact", "reach", "text", "sms", "whatsapp", "message", "messages", "dial",
    "answering", "home", "work",
]  # fmt: skip


class InternationalPhoneRecognizer(_Recognizer):
    """Phone numbers in any national layout (``0496 46 46 70``, ``+41 (0)85 806 98 67``).

    The digit-group pattern alone is weak evidence (an order number looks the same), so it
    scores low and needs a context word (``call``, ``Mobile:``) to pass the threshold."""

    SCORE = 0.3

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
            results.append(_result(self, "PHONE_NUMBER", m.start(), m.end(), self.SCORE))
        return EntityRecognizer.remove_duplicates(results)


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
    """.split()  # noqa: SIM905
)
# Proper nouns that are not people and that the tagger marks PROPN all the same.
NOT_PERSON_WORDS = frozenset(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday bot user admin customer agent
    street road avenue apt suite unit box iban ssn visa mastercard amex email phone mobile
    fax desk office mr mrs ms dr prof sir
    """.split()  # noqa: SIM905
)
PLACE_PREPOSITIONS = frozenset({"in", "at", "of", "from", "to", "near", "into", "via", "across"})
_NAME_TOKEN = regex.compile(r"^\p{Lu}[\p{L}\p{M}'’-]*\.?$")


class ProperNounPersonRecognizer(_Recognizer):
    """Runs of capitalised proper nouns that spaCy did not call a place: the small English
    model often tags foreign names (``Tomomi Nishiyama``, ``Irenka``) as ORG or nothing.

    Scored below the NER recognizer: it is the recall net under it, so a redaction-minded
    threshold keeps it and a precision-minded tenant can raise PERSON's threshold past it."""

    SCORE = 0.5
    PLACE_LABELS = frozenset({"GPE", "LOC", "FAC", "LOCATION", "DATE", "TIME", "MONEY"})

    ENTITY = "PERSON"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        doc = getattr(nlp_artifacts, "tokens", None)
        if doc is None:
            return []
        results = []
        run: list[Any] = []
        for tok in [*doc, None]:
            if tok is not None and self._name_like(tok):
                run.append(tok)
                continue
            if run and not self._org(run) and not self._after_place_preposition(run[0]):
                start, end = run[0].idx, run[-1].idx + len(run[-1].text)
                results.append(_result(self, "PERSON", start, end, self.SCORE))
            run = []
        return results

    def _name_like(self, tok: Any) -> bool:
        return bool(
            tok.pos_ == "PROPN"
            and _NAME_TOKEN.match(tok.text)
            and tok.ent_type_ not in self.PLACE_LABELS
            and tok.text.lower().rstrip(".") not in NOT_PERSON_WORDS
            and not (tok.is_upper and len(tok.text) > 2)  # KNIVSTA: mailing-label city
            and not tok.like_url
            and not tok.like_email
            and not (tok.i + 1 < len(tok.doc) and tok.doc[tok.i + 1].text == ":")  # Website:
        )

    @staticmethod
    def _after_place_preposition(tok: Any) -> bool:
        """``grew up in Knivsta``, ``University of Nicosia``: a place or an organisation."""
        return tok.i > 0 and tok.doc[tok.i - 1].lower_ in PLACE_PREPOSITIONS

    @staticmethod
    def _org(run: list[Any]) -> bool:
        return any(t.text.lower().rstrip(".") in ORG_WORDS for t in run)


CARD = regex.compile(r"(?<![\w.-])(?:\d{4}[ -]){2,3}\d{1,7}(?![\w-])|(?<![\w.-])\d{12,19}(?![\w-])")


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
