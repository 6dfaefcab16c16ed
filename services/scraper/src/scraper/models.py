"""Tables of the `scraper` schema."""

from aintech_shared.db import declarative_base_for
from aintech_shared.events.tables import messaging_tables

Base = declarative_base_for("scraper")
MESSAGING = messaging_tables(Base.metadata)
