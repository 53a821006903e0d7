"""Restoring placeholders in streamed text, chunk by chunk.

A placeholder may arrive split (``<PER`` + ``SON_1>``), so the tail of each chunk that could
still become one is held back until the next chunk decides it. Only that tail is buffered,
never the whole stream: the user sees text as soon as it cannot be part of a placeholder.
"""

from __future__ import annotations

import re

from privacy.vault import Vault

# A suffix that may be the start of a (possibly mangled) placeholder: an opening bracket or
# an upper/lowercase type name, optionally followed by ``_`` / space and digits.
_PARTIAL = re.compile(r"(?:(?:<|&(?:l(?:t;?)?)?|\[)[A-Za-z_]*|[A-Za-z_]+)(?:[_ \-]\d*)?$")


class StreamRestorer:
    """``feed`` each chunk as it arrives and send what it returns; ``flush`` at the end."""

    def __init__(self, vault: Vault, max_hold: int | None = None) -> None:
        self.vault = vault
        self._buf = ""
        # A held tail longer than any placeholder (plus slack for mangling) cannot be one.
        self._max_hold = max_hold or vault.max_token_len + 8

    def feed(self, text: str) -> str:
        self._buf += text
        cut = self._safe_prefix_len(self._buf)
        ready, self._buf = self._buf[:cut], self._buf[cut:]
        return self.vault.restore(ready) if ready else ""

    def flush(self) -> str:
        rest, self._buf = self._buf, ""
        return self.vault.restore(rest)

    def _safe_prefix_len(self, buf: str) -> int:
        """Everything before a possible partial placeholder at the end of ``buf``; a
        complete placeholder ending the buffer is held too, in case ``>`` follows."""
        m = _PARTIAL.search(buf)
        start = m.start() if m and m.group(0) else len(buf)
        return len(buf) if len(buf) - start > self._max_hold else start
