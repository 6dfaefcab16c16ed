"""The declarative base of this service's schema; the column helpers are the chassis' (aintech_shared.db)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Integer, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aintech_shared.db import created_column, schema_metadata, ts_column, utcnow, uuid_pk
from aintech_shared.events.tables import messaging_tables
from aintech_shared.idempotency import idempotency_table
from core_crm.settings import Settings

SCHEMA = Settings.db_schema


class Base(DeclarativeBase):
    """Typed declarative base: every table of the CRM lives in its schema."""

    metadata = schema_metadata(SCHEMA)


MESSAGING = messaging_tables(Base.metadata)
IDEMPOTENCY_KEYS = idempotency_table(Base.metadata)


def today() -> date:
    return utcnow().date()


def version_column() -> Mapped[int]:
    """Optimistic-locking counter: bumped by every update, compared with the client's If-Match."""
    return mapped_column(Integer, nullable=False, server_default=text("1"), default=1)


def check_in(column: str, values: Any) -> str:
    """SQL of a CHECK constraint limiting ``column`` to ``values`` (an enum or a sequence)."""
    return f"{column} IN (" + ", ".join(f"'{getattr(v, 'value', v)}'" for v in values) + ")"


__all__ = [
    "MESSAGING",
    "SCHEMA",
    "Base",
    "check_in",
    "created_column",
    "today",
    "ts_column",
    "utcnow",
    "uuid_pk",
    "version_column",
]
