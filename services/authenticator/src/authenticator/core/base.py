"""The declarative base of this service's schema; the column helpers are the chassis' (aintech_shared.db)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from aintech_shared.db import created_column, schema_metadata, ts_column, utcnow, uuid_pk
from aintech_shared.events.tables import messaging_tables
from authenticator.settings import Settings


class Base(DeclarativeBase):
    """Typed declarative base: every table of the authenticator lives in its schema."""

    metadata = schema_metadata(Settings.db_schema)


MESSAGING = messaging_tables(Base.metadata)

__all__ = ["MESSAGING", "Base", "created_column", "ts_column", "utcnow", "uuid_pk"]
