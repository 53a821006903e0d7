"""The declarative base every table module declares its rows on (``rag.db`` creates the
engine and migrates the schema)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
