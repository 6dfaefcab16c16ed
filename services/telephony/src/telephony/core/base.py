"""The declarative base of the `telephony` schema and small helpers every table uses."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import DeclarativeBase

from aintech_shared.db import schema_metadata
from aintech_shared.events.tables import messaging_tables
from telephony.settings import Settings


class Base(DeclarativeBase):
    """Typed declarative base: every table of telephony lives in its schema."""

    metadata = schema_metadata(Settings.db_schema)


MESSAGING = messaging_tables(Base.metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)
