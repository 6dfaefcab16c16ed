"""Tables of the service's schema (named once, in the fleet registry)."""

from sqlalchemy.orm import DeclarativeBase

from aintech_shared.db import schema_metadata
from aintech_shared.events.tables import messaging_tables
from core_crm.settings import Settings


class Base(DeclarativeBase):
    """Typed declarative base: every table of this service lives in its schema."""

    metadata = schema_metadata(Settings.db_schema)


MESSAGING = messaging_tables(Base.metadata)
