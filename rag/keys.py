"""API keys: each one belongs to one tenant and carries one role.

A key is shown once, when it is created; only its SHA-256 is stored. Keys are 40 random
bytes, so a fast hash is enough (a password hash's slowness protects low-entropy secrets,
which these are not) and keeps authentication off the request's critical path. The key's
public id (``rt_<id>_...``) names it in listings and in the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import DateTime, String, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from rag.core.db import Base
from rag.core.errors import InvalidRequest, NotFound
from rag.tenants import SqlTenantRegistry

Role = Literal["user", "admin", "auditor"]
ROLES: tuple[str, ...] = get_args(Role)
Permission = Literal["answer", "read_documents", "write_documents", "audit"]

# Separation of duties: whoever manages a tenant's documents cannot read its audit trail,
# and the auditor cannot change what the service answers from.
PERMISSIONS: dict[str, frozenset[str]] = {
    "user": frozenset({"answer", "read_documents"}),
    "admin": frozenset({"answer", "read_documents", "write_documents"}),
    "auditor": frozenset({"audit"}),
}

PREFIX = "rt_"


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Principal:
    """Who is calling: what every route decides on (never a header the caller sets)."""

    key_id: str
    tenant: str
    role: str

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True)
class KeyInfo:
    id: str
    tenant: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedKey:
    info: KeyInfo
    secret: str  # the whole key; shown once, never stored


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(row.id, row.tenant, row.role, row.name, row.created_at, row.revoked_at)


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._tenants = SqlTenantRegistry(engine)

    def create(self, tenant: str, role: str, name: str = "") -> IssuedKey:
        if role not in ROLES:
            raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
        self._tenants.require(tenant)
        key_id = secrets.token_hex(6)
        secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(40)}"
        row = ApiKeyRow(
            id=key_id,
            tenant=tenant,
            role=role,
            name=name[:100],
            key_hash=_digest(secret),
            created_at=datetime.now(UTC),
        )
        with Session(self._engine) as s, s.begin():
            s.add(row)
            info = _info(row)
        return IssuedKey(info, secret)

    def authenticate(self, key: str) -> Principal | None:
        """The key's principal, or None for a malformed, unknown or revoked key."""
        if not key.startswith(PREFIX) or len(key) > 200:
            return None
        key_id = key[len(PREFIX) :].split("_", 1)[0]
        with Session(self._engine) as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(row.key_hash, _digest(key)):
                return None
            return Principal(row.id, row.tenant, row.role)

    def revoke(self, key_id: str) -> KeyInfo:
        with Session(self._engine) as s, s.begin():
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"no key with id {key_id!r}")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            return _info(row)

    def list(self, tenant: str | None = None) -> list[KeyInfo]:
        query = select(ApiKeyRow).order_by(ApiKeyRow.tenant, ApiKeyRow.created_at)
        if tenant:
            query = query.where(ApiKeyRow.tenant == tenant)
        with Session(self._engine) as s:
            return [_info(r) for r in s.scalars(query)]
