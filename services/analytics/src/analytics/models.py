"""Tables of the `analytics` schema (imported here so Alembic sees the whole metadata)."""

from analytics.core.base import MESSAGING, Base

__all__ = ["MESSAGING", "Base"]
