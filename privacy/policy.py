"""A tenant's privacy policy, and applying it to one request's question and context.

Per entity type: ``pseudonymize`` (default; typed placeholder, restored in the answer),
``redact`` (``<TYPE>``, never restored) or ``block`` (the request is refused with a 422 that
names the types, never the values). Blocking applies to the question: a retrieved chunk is
the tenant's own document, so a blocked type found there is redacted instead, and the user
can still ask about that document.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from privacy.analyzer import Detection, PiiAnalyzer
from privacy.vault import Vault
from rag.core.entities import DEFAULT_ENTITIES, SUPPORTED_ENTITIES, Action
from rag.core.settings import Settings


class PiiBlockedError(Exception):
    """The question holds PII of types the tenant blocks; ``types`` names them."""

    def __init__(self, types: Sequence[str]) -> None:
        self.types = sorted(set(types))
        super().__init__(", ".join(self.types))


class PolicyOverrides(BaseModel):
    """What a tenant may override (stored as JSON beside the tenant)."""

    model_config = ConfigDict(extra="forbid")

    entities: list[str] | None = None
    thresholds: dict[str, float] = Field(default_factory=dict)
    actions: dict[str, Action] = Field(default_factory=dict)

    def model_post_init(self, _context: object) -> None:
        unknown = {*(self.entities or ()), *self.thresholds, *self.actions} - set(
            SUPPORTED_ENTITIES
        )
        if unknown:
            raise ValueError(
                f"unknown entity types {sorted(unknown)}; supported: {list(SUPPORTED_ENTITIES)}"
            )


@dataclass(frozen=True)
class PrivacyPolicy:
    entities: tuple[str, ...] = DEFAULT_ENTITIES
    default_threshold: float = 0.4
    thresholds: Mapping[str, float] = field(default_factory=dict)
    actions: Mapping[str, Action] = field(default_factory=dict)

    @classmethod
    def for_tenant(
        cls, settings: Settings, overrides: Mapping[str, object] | None = None
    ) -> PrivacyPolicy:
        """The service's defaults (``RAGTRUST_PRIVACY_*``) with a tenant's stored overrides
        (``ragtrust privacy policy set``) on top: what the service and the CLI both apply."""
        base = cls(
            entities=tuple(settings.privacy_entities),
            default_threshold=settings.privacy_score_threshold,
            thresholds=settings.privacy_thresholds,
            actions=settings.privacy_actions,
        )
        return base.merged(PolicyOverrides.model_validate(overrides) if overrides else None)

    def detection_key(self) -> tuple[object, ...]:
        """What decides the detections (not the actions): a cache key."""
        return (self.entities, self.default_threshold, tuple(sorted(self.thresholds.items())))

    def action(self, entity_type: str) -> Action:
        return self.actions.get(entity_type, "pseudonymize")

    def merged(self, overrides: PolicyOverrides | None) -> PrivacyPolicy:
        if overrides is None:
            return self
        return PrivacyPolicy(
            entities=tuple(overrides.entities) if overrides.entities is not None else self.entities,
            default_threshold=self.default_threshold,
            thresholds={**self.thresholds, **overrides.thresholds},
            actions={**self.actions, **overrides.actions},
        )


@dataclass
class Protected:
    """One request's text as it may leave the boundary, and the vault that reverses it."""

    question: str
    chunks: list[str]
    vault: Vault
    entities: dict[str, int]  # distinct values protected, per type
    replaced: dict[str, str] = field(default_factory=dict)
    """Every value this request protected -> what stands for it (placeholder or ``<TYPE>``)."""

    def mask(self, text: str) -> str:
        """``text`` (a piece of the protected question or chunks, e.g. a quoted sentence) as
        the LLM and the audit log may see it: every value protected anywhere in this request
        replaced, longest first."""
        for value in sorted(self.replaced, key=len, reverse=True):
            text = text.replace(value, self.replaced[value])
        return text


class PrivacyGuard:
    """Applies a policy with the shared analyzer; every call gets a fresh vault.

    Retrieved chunks are the tenant's stored documents and come back again and again, so
    their detections (offsets and types, keyed by a hash of the text, never the text) are
    cached; questions are always analysed afresh. The cache is keyed by tenant too: a tenant
    must not learn from a fast answer that another one sent or stored the same text.
    """

    def __init__(self, analyzer: PiiAnalyzer, cache_size: int = 4096) -> None:
        self.analyzer = analyzer
        self._cache: OrderedDict[tuple[object, ...], list[Detection]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def detect(self, text: str, policy: PrivacyPolicy) -> list[Detection]:
        return self._analyze([text], policy)[0]

    def detect_cached(
        self, text: str, policy: PrivacyPolicy, *, tenant: str = ""
    ) -> list[Detection]:
        return self._detect_all(None, [text], policy, tenant)[1][0]

    def _analyze(self, texts: Sequence[str], policy: PrivacyPolicy) -> list[list[Detection]]:
        return self.analyzer.analyze_many(
            texts, policy.entities, policy.thresholds, policy.default_threshold
        )

    def _detect_all(
        self, question: str | None, chunks: Sequence[str], policy: PrivacyPolicy, tenant: str
    ) -> tuple[list[Detection], list[list[Detection]]]:
        """The question's detections (always fresh) and each chunk's (cached by tenant and
        hash), with the question and every chunk not in the cache analysed in one batch."""
        scope = (tenant, *policy.detection_key())
        keys = [(hashlib.sha256(c.encode()).digest(), *scope) for c in chunks]
        found: dict[tuple[object, ...], list[Detection]] = {}
        with self._lock:
            for key in keys:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    found[key] = hit
        missing: dict[tuple[object, ...], str] = {}
        for key, chunk in zip(keys, chunks, strict=True):
            if key not in found:
                missing.setdefault(key, chunk)
        texts = ([question] if question is not None else []) + list(missing.values())
        results = self._analyze(texts, policy) if texts else []
        q_dets = results.pop(0) if question is not None else []
        with self._lock:
            for key, dets in zip(missing, results, strict=True):
                found[key] = dets
                self._cache[key] = dets
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return q_dets, [found[key] for key in keys]

    def protect(
        self, question: str, chunks: Sequence[str], policy: PrivacyPolicy, *, tenant: str = ""
    ) -> Protected:
        """``tenant`` scopes the chunk cache (the service always names it; one-off callers
        such as the CLI share the unnamed scope)."""
        q_dets, chunk_dets = self._detect_all(question, chunks, policy, tenant)
        blocked = [d.entity_type for d in q_dets if policy.action(d.entity_type) == "block"]
        if blocked:
            raise PiiBlockedError(blocked)
        vault = Vault()
        redacted: Counter[str] = Counter()
        seen_redacted: set[tuple[str, str]] = set()
        replaced: dict[str, str] = {}

        def apply(text: str, dets: list[Detection]) -> str:
            keep = [d for d in dets if policy.action(d.entity_type) == "pseudonymize"]
            drop = [d for d in dets if policy.action(d.entity_type) != "pseudonymize"]
            for d in drop:
                key = (d.entity_type, " ".join(text[d.start : d.end].split()).casefold())
                replaced.setdefault(text[d.start : d.end], f"<{d.entity_type}>")
                if key not in seen_redacted:
                    seen_redacted.add(key)
                    redacted[d.entity_type] += 1
            for d in sorted(keep, key=lambda d: d.start):  # numbered as pseudonymize numbers
                value = text[d.start : d.end]
                replaced.setdefault(value, vault.placeholder(d.entity_type, value))
            return vault.pseudonymize(text, keep, redact=drop)

        safe_q = apply(question, q_dets)
        safe_chunks = [apply(c, dets) for c, dets in zip(chunks, chunk_dets, strict=True)]
        counts = Counter(vault.counts()) + redacted
        return Protected(safe_q, safe_chunks, vault, dict(sorted(counts.items())), replaced)
