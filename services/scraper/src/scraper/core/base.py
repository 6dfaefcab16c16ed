"""The declarative base of the `scraper` schema (column helpers: aintech_shared.db)."""

from sqlalchemy.orm import DeclarativeBase

from aintech_shared.db import RecordMixin, created_column, schema_metadata, ts_column, utcnow, uuid_pk
from aintech_shared.events.tables import messaging_tables
from scraper.settings import Settings


class Base(DeclarativeBase):
    """Typed declarative base: every table of this service lives in its schema."""

    metadata = schema_metadata(Settings.db_schema)


MESSAGING = messaging_tables(Base.metadata)

__all__ = ["MESSAGING", "Base", "RecordMixin", "created_column", "ts_column", "utcnow", "uuid_pk"]
