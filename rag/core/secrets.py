"""Secrets that live in files beside the data: the embedded default for keys that production
takes from its secret store instead.

One definition for every such key (the audit signing key, the prefix-cache salt key, the
embedded vLLM server's API key), so that each is written the same careful way: mode 0600 from
the first byte, and atomically, because several processes (the service, the CLI, the tests)
may create it at once and must all read the same one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr


def secret_file(path: Path) -> bytes:
    """The key stored at ``path`` (64 hex digits), created there first if it is missing."""
    if not path.exists():
        _write(path, secrets.token_hex(32), replace=False)
    return bytes.fromhex(path.read_text().strip())


def configured_or_file(configured: SecretStr, path: Path) -> bytes:
    """The key from the settings (the environment, a secret store), else the file's."""
    value = configured.get_secret_value()
    return value.encode() if value else secret_file(path)


def replace_secret(path: Path, value: str) -> None:
    """Store ``value`` at ``path`` in place of what was there, never half-written."""
    _write(path, value, replace=True)


def _write(path: Path, value: str, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    try:
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # atomic: the first process's key wins, never a half-written one
    except FileExistsError:
        pass
    finally:
        if tmp.exists():
            os.unlink(tmp)
