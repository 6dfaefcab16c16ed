"""Tables of the `scraper` schema (imported here so Alembic sees the whole metadata)."""

from scraper.core.base import MESSAGING, Base

__all__ = ["MESSAGING", "Base"]
