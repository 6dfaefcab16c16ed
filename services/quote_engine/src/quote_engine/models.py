"""Tables of the `quotes` schema (imported here so Alembic sees the whole metadata)."""

from quote_engine.core.base import MESSAGING, Base

__all__ = ["MESSAGING", "Base"]
