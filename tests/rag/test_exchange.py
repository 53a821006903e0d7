"""The per-tenant prefix-cache salt: keyed, so nobody who reaches the LLM server can compute
another tenant's."""

from __future__ import annotations

import hashlib
import stat
import subprocess
from pathlib import Path

from pydantic import SecretStr

from rag.core.settings import ROOT, Settings
from rag.exchange import CACHE_SALT_KEY_FILE, cache_salt, cache_salt_key


def test_the_salt_depends_on_a_secret_not_only_on_the_tenant_name() -> None:
    public = hashlib.sha256(b"ragtrust-tenant:demo").hexdigest()[:32]  # the old, computable one
    a, b = cache_salt(b"k" * 32, "demo"), cache_salt(b"j" * 32, "demo")
    assert a != b and public not in (a, b)
    assert cache_salt(b"k" * 32, "demo") == a  # stable, or the cache would never hit
    assert cache_salt(b"k" * 32, "acme") != a


def test_the_key_comes_from_the_setting_else_from_a_private_file(tmp_path: Path) -> None:
    given = Settings(data_dir=tmp_path, llm_cache_salt_key=SecretStr("from-the-vault"))
    assert cache_salt_key(given) == b"from-the-vault"
    assert not (tmp_path / CACHE_SALT_KEY_FILE).exists()
    generated = cache_salt_key(Settings(data_dir=tmp_path))
    assert len(generated) == 32 and cache_salt_key(Settings(data_dir=tmp_path)) == generated
    assert stat.S_IMODE((tmp_path / CACHE_SALT_KEY_FILE).stat().st_mode) == 0o600


def test_generated_llm_secrets_are_git_ignored() -> None:
    for name in (CACHE_SALT_KEY_FILE, "vllm-8001.key"):
        done = subprocess.run(["git", "check-ignore", "-q", f"data/{name}"], cwd=ROOT, check=False)
        assert done.returncode == 0, f"data/{name} is not in .gitignore"
