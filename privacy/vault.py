"""Request-scoped reversible pseudonymization: ``Ada Lovelace`` -> ``<PERSON_1>`` and back.

One vault per request, never shared: it holds the only copy of the mapping, dies with the
request, and so can neither leak values into another tenant's answer nor collide with another
request's numbering (the failure modes of process-wide vaults). A lock makes it safe when one
request analyses its chunks in parallel worker threads.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from privacy.analyzer import Detection


class Vault:
    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_token: dict[str, str] = {}
        self._next: Counter[str] = Counter()
        self._lock = threading.Lock()

    def placeholder(self, entity_type: str, value: str) -> str:
        """The same (type, value) always gets the same placeholder; new ones count up."""
        key = (entity_type, _normalize(value))
        with self._lock:
            token = self._by_value.get(key)
            if token is None:
                self._next[entity_type] += 1
                token = f"<{entity_type}_{self._next[entity_type]}>"
                self._by_value[key] = token
                self._by_token[token] = value
            return token

    def pseudonymize(
        self, text: str, detections: Sequence[Detection], redact: Sequence[Detection] = ()
    ) -> str:
        """Replace each (disjoint) detection by its placeholder; ``redact`` ones by a bare
        ``<TYPE>`` that nothing maps back."""
        out, pos = [], 0
        marked = [(d, False) for d in detections] + [(d, True) for d in redact]
        for d, gone in sorted(marked, key=lambda m: m[0].start):
            out.append(text[pos : d.start])
            value = text[d.start : d.end]
            out.append(f"<{d.entity_type}>" if gone else self.placeholder(d.entity_type, value))
            pos = d.end
        out.append(text[pos:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """Put the original values back, also for placeholders the model mangled: brackets
        dropped or escaped, ``_`` turned into a space or hyphen, case changed."""
        with self._lock:
            known = {t.strip("<>"): v for t, v in self._by_token.items()}
            types = sorted(self._next, key=len, reverse=True)
        if not known:
            return text

        def swap(m: re.Match[str]) -> str:
            bracketed = bool(m.group("open") or m.group("close"))
            typ = re.sub(r"[\s_-]+", "_", m.group("type")).upper()
            if not bracketed and m.group("type").islower() and "_" not in m.group(0):
                return m.group(0)  # "a person 1 day": ordinary prose, not a placeholder
            value = known.get(f"{typ}_{m.group('n')}")
            return m.group(0) if value is None else value

        return _pattern(tuple(types)).sub(swap, text)

    def counts(self) -> dict[str, int]:
        """Distinct protected values per entity type (what the response reports)."""
        with self._lock:
            return dict(sorted(Counter(t for t, _ in self._by_value).items()))

    def values(self) -> list[str]:
        with self._lock:
            return list(self._by_token.values())

    @property
    def max_token_len(self) -> int:
        with self._lock:
            return max((len(t) for t in self._by_token), default=0)


@lru_cache(maxsize=256)
def _pattern(types: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(re.escape(t).replace("_", r"[\s_-]?") for t in types)
    return re.compile(
        rf"(?P<open><|&lt;|\[)?(?<![A-Za-z])(?P<type>{names})[\s_-]?(?P<n>\d{{1,4}})(?!\d)"
        rf"(?P<close>>|&gt;|\])?",
        re.IGNORECASE,
    )


def _normalize(value: str) -> str:
    return " ".join(value.split()).casefold()
