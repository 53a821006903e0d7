"""The tenant registry: which tenants exist. A request for any other tenant is refused.

Stored through SQLAlchemy (SQLite by default, PostgreSQL by URL) because API keys, tenant
settings and the audit log will live beside it in the same database.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, String, Text, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from rag.errors import InvalidRequest, UnknownTenant

TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Base(DeclarativeBase):
    pass


class TenantRow(Base):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TenantPrivacyRow(Base):
    """A tenant's privacy overrides as JSON; a table of its own so that databases created
    before it need no migration (``create_all`` adds it)."""

    __tablename__ = "tenant_privacy"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    policy: Mapped[str] = mapped_column(Text)


class TenantRegistry(Protocol):
    def create(self, name: str, *, exist_ok: bool = False) -> bool: ...

    def require(self, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def privacy_overrides(self, name: str) -> dict[str, Any] | None: ...


def make_engine(url: str) -> Engine:
    engine = create_engine(url)
    if url.startswith("sqlite"):
        # WAL lets the CLI write while the service reads the same file.
        @event.listens_for(engine, "connect")
        def _wal(conn, _record):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=5000")

    Base.metadata.create_all(engine)
    return engine


def validate_name(name: str) -> str:
    if not TENANT_NAME.fullmatch(name):
        raise InvalidRequest(
            "a tenant name is 1-63 characters of lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return name


class SqlTenantRegistry:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str, *, exist_ok: bool = False) -> bool:
        """Create a tenant; returns False when it already existed (and ``exist_ok``)."""
        validate_name(name)
        try:
            with Session(self._engine) as s, s.begin():
                s.add(TenantRow(name=name, created_at=datetime.now(UTC)))
        except IntegrityError:
            if exist_ok:
                return False
            raise InvalidRequest(f"tenant {name!r} already exists") from None
        return True

    def require(self, name: str) -> None:
        if not TENANT_NAME.fullmatch(name) or not self._exists(name):
            raise UnknownTenant("unknown tenant; create it with `ragtrust tenants create NAME`")

    def names(self) -> list[str]:
        with Session(self._engine) as s:
            return list(s.scalars(select(TenantRow.name).order_by(TenantRow.name)))

    def _exists(self, name: str) -> bool:
        with Session(self._engine) as s:
            return s.get(TenantRow, name) is not None

    def privacy_overrides(self, name: str) -> dict[str, Any] | None:
        """The tenant's privacy overrides (JSON object), or None for the defaults."""
        with Session(self._engine) as s:
            row = s.get(TenantPrivacyRow, name)
            return None if row is None else dict(json.loads(row.policy))

    def set_privacy_overrides(self, name: str, policy: dict[str, Any] | None) -> None:
        self.require(name)
        with Session(self._engine) as s, s.begin():
            row = s.get(TenantPrivacyRow, name)
            if policy is None:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(TenantPrivacyRow(name=name, policy=json.dumps(policy)))
            else:
                row.policy = json.dumps(policy)
