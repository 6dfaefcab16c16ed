"""The declarative base of the `crm` schema, and column helpers used by every table."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aintech_shared.db import schema_metadata
from aintech_shared.events.tables import messaging_tables
from aintech_shared.idempotency import idempotency_table
from core_crm.settings import Settings

SCHEMA = Settings.db_schema


class Base(DeclarativeBase):
    """Typed declarative base: every table of the CRM lives in its schema."""

    metadata = schema_metadata(SCHEMA)


MESSAGING = messaging_tables(Base.metadata)
IDEMPOTENCY_KEYS = idempotency_table(Base.metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def now_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now(), default=utcnow)


def ts_column(*, nullable: bool = True) -> Any:
    return mapped_column(DateTime(timezone=True), nullable=nullable)


def version_column() -> Mapped[int]:
    """Optimistic-locking counter: bumped by every update, compared with the client's If-Match."""
    return mapped_column(Integer, nullable=False, server_default=text("1"), default=1)


def check_in(column: str, values: Any) -> str:
    """SQL of a CHECK constraint limiting ``column`` to ``values`` (an enum or a sequence)."""
    return f"{column} IN (" + ", ".join(f"'{getattr(v, 'value', v)}'" for v in values) + ")"
