"""Tables of the `quotes` schema."""

from aintech_shared.db import declarative_base_for
from aintech_shared.events.tables import messaging_tables

Base = declarative_base_for("quotes")
MESSAGING = messaging_tables(Base.metadata)
