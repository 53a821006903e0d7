"""What a tenant name may be: one rule for the registry and for the storage layer.

A tenant name becomes a directory under the data dir (``retrieval.store``), so the rule is
also what keeps ``"demo/../acme"`` from reaching another tenant's folder when a library
caller bypasses the API. It lives in ``rag.core`` so that retrieval can enforce it without
importing the orchestrator.
"""

from __future__ import annotations

import re

from rag.core.errors import InvalidRequest

TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def is_valid_tenant_name(name: str) -> bool:
    return isinstance(name, str) and TENANT_NAME.fullmatch(name) is not None


def validate_tenant_name(name: str) -> str:
    """``name`` unchanged, or InvalidRequest (400) saying what a name may be."""
    if not is_valid_tenant_name(name):
        raise InvalidRequest(
            "a tenant name is 1-63 characters of lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return name
