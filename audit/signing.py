"""The key that signs chain heads, prune checkpoints and export seals.

It must live outside the database (whoever can rewrite the audit tables must not also be able
to re-sign them), so it comes from ``RAGTRUST_AUDIT_SIGNING_KEY`` (a secret store in
production) or, for the embedded default, a file generated once beside the database with
mode 0600 (git-ignored). ``RAGTRUST_AUDIT_KEY_FROM_ENV_ONLY=true`` turns the file off: a
production process without the variable refuses to start rather than sign with a key that
sits on the same disk as the data, or a fresh one that no earlier head verifies against.
Several processes may start at once; the file appears atomically (``link``) and every one
of them reads the same key.
"""

from __future__ import annotations

from rag.core.secrets import configured_or_file, secret_file
from rag.core.settings import Settings

KEY_FILE = "audit-signing.key"


class SigningKeyMissing(RuntimeError):
    """Production settings and no key in the environment."""


def signing_key(settings: Settings) -> bytes:
    if settings.audit_key_from_env_only and not settings.audit_signing_key.get_secret_value():
        raise SigningKeyMissing(
            "RAGTRUST_AUDIT_KEY_FROM_ENV_ONLY is set but RAGTRUST_AUDIT_SIGNING_KEY is empty: "
            "set the audit signing key from your secret store"
        )
    return configured_or_file(settings.audit_signing_key, settings.data_dir / KEY_FILE)


def existing_signing_key(settings: Settings) -> bytes | None:
    """The key, without creating one: a fresh key would only make every seal look forged."""
    secret = settings.audit_signing_key.get_secret_value()
    if secret:
        return secret.encode()
    path = settings.data_dir / KEY_FILE
    if settings.audit_key_from_env_only or not path.exists():
        return None
    return secret_file(path)
