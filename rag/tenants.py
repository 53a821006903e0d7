"""The tenant registry: which tenants exist, and each one's settings. A request for any other
tenant is refused.

Stored through SQLAlchemy (``rag.db``) beside API keys and the audit log. A tenant's settings
override the service defaults (``RAGTRUST_*``) and are overridden in turn by a request.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from rag.core.db import Base
from rag.core.errors import InvalidRequest, UnknownTenant
from rag.core.tenant_names import is_valid_tenant_name, validate_tenant_name
from rag.core.types import RetrievalMode
from trust.presets import PresetName


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


class TenantSettingsRow(Base):
    __tablename__ = "tenant_settings"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    settings: Mapped[str] = mapped_column(Text)


class TenantSettings(BaseModel):
    """What a tenant may set for itself; None falls back to the service default."""

    model_config = ConfigDict(extra="forbid")

    trust_preset: PresetName | None = None
    trust_threshold: float | None = Field(None, ge=0.0, le=1.0)
    retrieval_mode: RetrievalMode | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    answer_mode: Literal["extractive", "generative", "auto"] | None = None
    max_documents: int | None = Field(None, ge=1)
    max_chunks: int | None = Field(None, ge=1)
    max_bytes: int | None = Field(None, ge=1)


class TenantRegistry(Protocol):
    def create(self, name: str, *, exist_ok: bool = False) -> bool: ...

    def require(self, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def privacy_overrides(self, name: str) -> dict[str, Any] | None: ...

    def settings(self, name: str) -> TenantSettings: ...


class SqlTenantRegistry:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str, *, exist_ok: bool = False) -> bool:
        """Create a tenant; returns False when it already existed (and ``exist_ok``)."""
        validate_tenant_name(name)
        try:
            with Session(self._engine) as s, s.begin():
                s.add(TenantRow(name=name, created_at=datetime.now(UTC)))
        except IntegrityError:
            if exist_ok:
                return False
            raise InvalidRequest(f"tenant {name!r} already exists") from None
        return True

    def require(self, name: str) -> None:
        if not is_valid_tenant_name(name) or not self._exists(name):
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

    def settings(self, name: str) -> TenantSettings:
        with Session(self._engine) as s:
            row = s.get(TenantSettingsRow, name)
            return (
                TenantSettings()
                if row is None
                else TenantSettings.model_validate_json(row.settings)
            )

    def update_settings(self, name: str, **changes: Any) -> TenantSettings:
        """Merge ``changes`` into the tenant's settings (a None value resets that one)."""
        self.require(name)
        with Session(self._engine) as s, s.begin():
            row = s.get(TenantSettingsRow, name)
            current = {} if row is None else json.loads(row.settings)
            merged = TenantSettings.model_validate({**current, **changes})
            text = merged.model_dump_json(exclude_none=True)
            if row is None:
                s.add(TenantSettingsRow(name=name, settings=text))
            else:
                row.settings = text
        return merged
