"""The declarative base of this service's schema; the column helpers are the chassis' (aintech_shared.db)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from aintech_shared.db import schema_metadata, utcnow
from aintech_shared.events.tables import messaging_tables
from telephony.settings import Settings


class Base(DeclarativeBase):
    """Typed declarative base: every table of telephony lives in its schema."""

    metadata = schema_metadata(Settings.db_schema)


MESSAGING = messaging_tables(Base.metadata)

__all__ = ["MESSAGING", "Base", "utcnow"]
